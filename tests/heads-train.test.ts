// End to end: Mask R-CNN and UperNet trained through the project's trainer (trainDense) on
// writeSynthetic data with the test_vmamba backbone, 64 px images, the 'tiny' head presets; validated
// each epoch with the COCO evaluator (bbox + segm) and mIoU. Runs on webgpu where there is an adapter
// (lavapipe here: about 5x faster than tfjs-cpu for these steps), else cpu. Plus the bad-input case:
// images without boxes, or with only degenerate boxes, train without NaN.
import test from 'ava';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, type Tensor } from '../core/tf.ts';
import { setBackend, releaseGpu } from '../core/backend.ts';
import { manualSeed } from '../core/rng.ts';
import { createModel } from '../backbones/index.ts';
import { writeSynthetic } from '../datasets/index.ts';
import type { Batch } from '../datasets/types.ts';
import { createMaskRcnn } from '../heads/mask_rcnn.ts';
import { trainDense } from '../train/dense.ts';
import { denseConfigFrom } from '../train/dense-config.ts';
import { DetectTask } from '../train/detect-task.ts';

const root = mkdtempSync(join(tmpdir(), 'ssmv-heads-train-'));
test.after.always(() => {
  rmSync(root, { recursive: true, force: true });
  releaseGpu();
});

const common = { model: 'test_vmamba', head_preset: 'tiny', epochs: 3, batch: 4, imgsz: 64, workers: 0, backend: 'auto', lr: 2e-3, warmup_iters: 2, project: join(root, 'runs'), exist_ok: true, plots: false };
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
const row = (m: Record<string, number>, keys: string[]) => keys.map((k) => `${k.replace(/^(metrics|train)\//, '')} ${m[k]?.toFixed(4)}`).join(', ');

test.serial('Mask R-CNN on synthetic shapes: the loss falls and box / mask AP are above 0', async (t) => {
  const data = join(root, 'det');
  await writeSynthetic({ task: 'detect', out: data, n: 20, size: 64, classes: 2, seed: 1, valFraction: 0.15 });
  const r = await trainDense(denseConfigFrom({ ...common, task: 'detect', data, name: 'det', milestones: [100] }), { err: quiet });
  t.is(r.reason, 'completed');
  const h = r.history;
  for (const m of h) t.log(`epoch ${m.epoch}: ${row(m, ['train/loss', 'train/loss_rpn_cls', 'train/loss_cls', 'train/loss_mask', 'metrics/bbox_mAP', 'metrics/bbox_mAP_50', 'metrics/segm_mAP'])} (${m.time.toFixed(0)} s, ${r.backend.backend})`);
  t.is(h.length, 3);
  t.true(h[2]['train/loss'] < h[0]['train/loss'], 'training loss falls');
  for (const k of ['loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask']) t.true(h.every((m) => Number.isFinite(m[`train/${k}`])), k);
  t.true(h[2]['train/loss_rpn_cls'] < h[0]['train/loss_rpn_cls'] && h[2]['train/loss_cls'] < h[0]['train/loss_cls']);
  t.true(h[2]['metrics/bbox_mAP'] > 0, `bbox mAP ${h[2]['metrics/bbox_mAP']}`);
  t.true(Math.max(...h.map((m) => m['metrics/segm_mAP'])) > 0, 'segm mAP');
  const csv = readFileSync(join(r.dir, 'metrics.csv'), 'utf8');
  t.true(csv.split('\n')[0].includes('metrics/bbox_mAP'));
  t.true(existsSync(join(r.dir, 'last.safetensors')));
  const cfg = JSON.parse(readFileSync(join(r.dir, 'config.json'), 'utf8'));
  t.is(cfg.resolved.head, 'mask_rcnn');
  t.deepEqual(cfg.resolved.classes, ['arrow', 'circle']);
});

function detBatch(boxes: number[], batchIndex: number[], S = 64): Batch {
  const n = batchIndex.length;
  const masks = new Uint8Array(n * S * S);
  for (let k = 0; k < n; k++) {
    const [x1, y1, x2, y2] = boxes.slice(4 * k, 4 * k + 4);
    for (let y = Math.max(0, Math.ceil(y1)); y < Math.min(S, y2); y++) for (let x = Math.max(0, Math.ceil(x1)); x < Math.min(S, x2); x++) masks[k * S * S + y * S + x] = 1;
  }
  const images = Float32Array.from({ length: 2 * S * S * 3 }, (_, i) => Math.sin(i * 0.37));
  return {
    images, shape: [2, S, S, 3], info: [], skipped: [],
    boxes: Float32Array.from(boxes), boxClasses: new Int32Array(n), boxBatchIndex: Int32Array.from(batchIndex), iscrowd: new Uint8Array(n), instanceMasks: masks,
  };
}

test.serial('bad input: images without boxes or with only degenerate boxes train without NaN', async (t) => {
  await setBackend('auto');
  manualSeed(3);
  const model = createMaskRcnn(createModel('test_vmamba', { out_indices: [0, 1, 2, 3] }), { num_classes: 2 }, 'tiny');
  const task = new DetectTask(model, null, true);
  // image 0 has nothing; image 1 a 0.5 px wide box and a reversed one (dropped as mmdet drops w < 1)
  const cases: Array<[string, Batch, number]> = [
    ['no boxes and degenerate boxes only', detBatch([10, 10, 10.5, 30, 40, 40, 20, 50], [1, 1]), 2],
    ['one real box beside a degenerate one', detBatch([8, 8, 30, 28, 5, 5, 5.2, 20], [1, 1]), 1],
  ];
  for (const [name, batch, dropped] of cases) {
    const before = task.dropped;
    const prepared = await task.prepare(batch);
    t.is(task.dropped - before, dropped, name);
    const vars = model.parameters();
    const { value, grads } = tf.variableGrads(() => task.loss(batch, prepared), vars);
    const loss = (await value.data())[0]; // GPU->CPU sync
    const norms = await tf.tidy(() => tf.stack(Object.values(grads).map((g) => tf.sum(tf.abs(g))))).data(); // GPU->CPU sync
    const parts = await task.parts.epochMeans(''); // GPU->CPU sync
    t.log(`${name}: loss ${loss.toFixed(4)} (${Object.entries(parts).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')})`);
    t.true(Number.isFinite(loss), `${name}: loss ${loss}`);
    t.true(Array.from(norms).every(Number.isFinite), `${name}: gradients finite`);
    if (dropped === 2) {
      // no ground truth at all: only objectness and box classification of negatives
      t.is(parts.loss_rpn_bbox, 0);
      t.is(parts.loss_bbox, 0);
      t.is(parts.loss_mask, 0);
      t.true(parts.loss_rpn_cls > 0 && parts.loss_cls > 0);
    } else t.true(parts.loss_mask > 0 && parts.loss_bbox >= 0);
    tf.dispose([value, ...Object.values(grads)]);
  }
  model.dispose();
});

test.serial('UperNet on synthetic shapes: the loss falls and mIoU rises above its first epoch', async (t) => {
  const data = join(root, 'seg');
  await writeSynthetic({ task: 'segment', out: data, n: 20, size: 64, classes: 2, seed: 1, valFraction: 0.15 });
  // background kept as class 0 (reduce_zero_label=false): 3 classes
  const r = await trainDense(denseConfigFrom({ ...common, task: 'segment', data, name: 'seg', reduce_zero_label: false }), { err: quiet });
  t.is(r.reason, 'completed');
  const h = r.history;
  for (const m of h) t.log(`epoch ${m.epoch}: ${row(m, ['train/loss', 'train/decode.loss_ce', 'train/aux.loss_ce', 'metrics/mIoU', 'metrics/aAcc'])} (${m.time.toFixed(0)} s, ${r.backend.backend})`);
  t.is(h.length, 3);
  t.true(h[2]['train/loss'] < h[0]['train/loss'], 'training loss falls');
  t.true(h[2]['metrics/mIoU'] > 0 && h[2]['metrics/mIoU'] > h[0]['metrics/mIoU'], `mIoU ${h.map((m) => m['metrics/mIoU'].toFixed(4)).join(' -> ')}`);
  t.true(h[2]['metrics/aAcc'] > h[0]['metrics/aAcc']);
  const cfg = JSON.parse(readFileSync(join(r.dir, 'config.json'), 'utf8'));
  t.deepEqual(cfg.resolved.classes, ['background', 'arrow', 'circle']);
  t.is(cfg.resolved.schedule.kind, 'poly');
});

test.serial('resume: a segmentation run stopped after epoch 1 continues to the same epoch-2 loss', async (t) => {
  const data = join(root, 'seg-small');
  await writeSynthetic({ task: 'segment', out: data, n: 5, size: 64, classes: 2, seed: 4, valFraction: 0.2 });
  const base = { ...common, task: 'segment', data, reduce_zero_label: false, val: false, warmup_iters: 1 };
  const straight = await trainDense(denseConfigFrom({ ...base, name: 'straight', epochs: 2 }), { err: quiet });
  // stopped by a callback after epoch 1 (as Ctrl-C would), with the schedule of the 2-epoch run
  const half = await trainDense(denseConfigFrom({ ...base, name: 'half', epochs: 2 }), { err: quiet, callbacks: [{ name: 'stop', onEpochEnd: (tr) => tr.requestStop('interrupted', 'test') }] });
  t.is(half.reason, 'interrupted');
  const resumed = await trainDense(denseConfigFrom({ ...base, resume: join(half.dir, 'last'), epochs: 2 }), { err: quiet, given: new Set(['resume', 'epochs']) });
  t.is(resumed.history.length, 2);
  t.log(`epoch-2 loss: straight ${straight.history[1]['train/loss']}, resumed ${resumed.history[1]['train/loss']}`);
  // equal on cpu; on webgpu tfjs computes small elementwise ops of freshly loaded (CPU-resident) weights
  // on the CPU (WEBGPU_CPU_FORWARD), which can move the last float32 bits
  const a = resumed.history[1]['train/loss'], b = straight.history[1]['train/loss'];
  t.true(Math.abs(a - b) <= 1e-5 * Math.abs(b), `${a} vs ${b}`);
  t.not(a, half.history[0]['train/loss']);
  await t.throwsAsync(() => trainDense(denseConfigFrom({ ...base, resume: join(half.dir, 'last'), lr: 1 }), { err: quiet, given: new Set(['resume', 'lr']) }), { message: /lr cannot change/ });
});
