// bidirectional — Vim's forward and backward scan over the row-major token sequence (models.md 3):
// the backward branch runs on `xz.flip(-1)` and is flipped back, and the two are averaged
// (`if_divide_out`). Here both directions read the same post-conv map (a 2-D depthwise conv is
// shared, where Vim has a causal conv1d per direction) and have their own SSM parameters (K = 2).
import { defineStrategy } from './registry.ts';
import { standardCore } from './core.ts';
import { makePlan, reversed, rowMajor } from './routes.ts';

export default defineStrategy({
  name: 'bidirectional',
  paper: 'Vision Mamba: Efficient Visual Representation Learning with Bidirectional State Space Model (Zhu et al., arXiv 2401.09417)',
  upstream: 'hustvl/Vim@dd0358a vim/models_mamba.py (PatchEmbed: flatten(2) = row-major), mamba-1p1p1/mamba_ssm/modules/mamba_simple.py (Mamba.forward, bimamba_type v2: xz.flip(-1), out = (y_f + y_b.flip(-1)) / 2)',
  description: 'forward and backward over the row-major sequence, averaged (Vim)',
  options: {
    divide_out: { type: 'boolean', default: true, help: 'average the two directions (Vim if_divide_out) instead of summing' },
  },
  directions: () => 2,
  build: (H, W) => [makePlan('bidirectional', H, W, [rowMajor(H, W), reversed(rowMajor(H, W))], ['forward (row-major)', 'backward (reversed row-major)'], 'sum')],
  core: standardCore({ outputScale: (o) => (o.divide_out ? 0.5 : 1) }),
});
