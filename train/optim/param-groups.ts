// Weight-decay parameter groups as timm/VMamba build them (VMamba classification/utils/optimizer.py
// set_weight_decay): no decay for 1-D parameters (norm weights, biases), names ending in '.bias',
// parameters the model flags (core/nn `noDecay`: norms, biases, A_logs, Ds, position embeddings),
// and the SSM/position-embedding names below (a safety net for families that forget the flag).
import type { Module, NamedParam } from '../../core/nn/module.ts';

export interface ParamGroup {
  name: 'decay' | 'no_decay';
  params: NamedParam[];
  weightDecay: number;
}

/** timm `no_weight_decay` names of the SSM families (last path component) */
const NO_DECAY_SUFFIXES = ['A_logs', 'Ds', 'A_log', 'D', 'pos_embed', 'absolute_pos_embed', 'cls_token', 'relative_position_bias_table'];

export function isNoDecay(p: NamedParam): boolean {
  const last = p.name.slice(p.name.lastIndexOf('.') + 1);
  return p.noDecay || p.variable.shape.length <= 1 || p.name.endsWith('.bias') || NO_DECAY_SUFFIXES.includes(last);
}

/** Splits trainable parameters into [decay, no_decay] groups (empty groups are kept, for stable state). */
export function paramGroups(model: Module, weightDecay: number): ParamGroup[] {
  const decay: NamedParam[] = [];
  const noDecay: NamedParam[] = [];
  for (const p of model.namedParameters()) {
    if (!p.variable.trainable) continue;
    (isNoDecay(p) ? noDecay : decay).push(p);
  }
  return [
    { name: 'decay', params: decay, weightDecay },
    { name: 'no_decay', params: noDecay, weightDecay: 0 },
  ];
}
