// `ssmv train task=detect|segment`: which runs are dense (Mask R-CNN / UperNet) runs, --help, and bad
// input failing before a run directory is made.
import test from 'ava';
import { mkdtempSync, existsSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDenseRun, run, denseTable } from '../train/dense-cli.ts';
import { denseConfigFrom, resolveDense } from '../train/dense-config.ts';
import { trainDense } from '../train/dense.ts';
import { writeSynthetic } from '../datasets/index.ts';
import { releaseGpu } from '../core/backend.ts';

const root = mkdtempSync(join(tmpdir(), 'ssmv-heads-cli-'));
test.after.always(() => {
  rmSync(root, { recursive: true, force: true });
  releaseGpu();
});

test('dispatch: segment, detect with head= or a backbone model are dense runs; YOLO models and classify are not', async (t) => {
  t.true(await isDenseRun(['task=segment', 'data=x']));
  t.true(await isDenseRun(['task=detect', 'head=mask_rcnn']));
  t.true(await isDenseRun(['--task', 'detect', '--model', 'vmamba_tiny_s1l8']));
  t.false(await isDenseRun(['task=detect', 'model=mamba_yolo_t']));
  t.false(await isDenseRun(['task=detect', 'head=yolo', 'model=vmamba_tiny_s1l8']));
  t.false(await isDenseRun(['task=detect']));
  t.false(await isDenseRun(['task=classify', 'model=vmamba_tiny_s1l8']));
  t.false(await isDenseRun(['model=vmamba_tiny_s1l8']));
});

test('config: task recipes fill the undefined keys; bad values name the key', (t) => {
  const det = resolveDense(denseConfigFrom({ task: 'detect' }));
  t.deepEqual(det, { head: 'mask_rcnn', trainSplit: 'train', valSplit: 'val', imgsz: 800, lr: 1e-4, weightDecay: 0.05, warmupIters: 1000, warmupRatio: 0.001 });
  const seg = resolveDense(denseConfigFrom({ task: 'segment', imgsz: 256 }));
  t.deepEqual(seg, { head: 'upernet', trainSplit: 'training', valSplit: 'validation', imgsz: 256, lr: 6e-5, weightDecay: 0.01, warmupIters: 1500, warmupRatio: 1e-6 });
  t.throws(() => denseConfigFrom({ task: 'detect', hflip: 2 }), { message: /hflip: must be in \[0, 1\]/ });
  t.throws(() => denseConfigFrom({ task: 'detect', warmup_ratio: 0 }), { message: /warmup_ratio: must be in \(0, 1\]/ });
});

test('--help lists the dense keys; unknown keys get "did you mean"', async (t) => {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  try {
    t.is(await run(['task=segment', '--help']), 0);
  } finally {
    process.stdout.write = write;
  }
  for (const k of ['head', 'head_preset', 'reduce_zero_label', 'milestones', 'poly_power', 'pretrained']) t.true(out.includes(`  ${k} `), k);
  await t.throwsAsync(() => run(['task=detect', 'head=mask_rcnn', 'head_prest=tiny']), { message: /unknown key 'head_prest'.*did you mean head_preset/ });
});

test('bad input fails before a run directory exists', async (t) => {
  const project = join(root, 'runs');
  const base = { model: 'test_vmamba', backend: 'cpu', workers: 0, project, name: 'bad', imgsz: 64 };
  await t.throwsAsync(() => trainDense(denseConfigFrom({ ...base, task: 'detect', data: join(root, 'nope') })), { message: /data: folder '.*nope' does not exist/ });
  await t.throwsAsync(() => trainDense(denseConfigFrom({ ...base, task: 'detect', data: root, head: 'mask_rnn' })), { message: /unknown head 'mask_rnn' \(did you mean mask_rcnn/ });
  const det = join(root, 'det');
  await writeSynthetic({ task: 'detect', out: det, n: 4, size: 32, classes: 1, seed: 0 });
  await t.throwsAsync(() => trainDense(denseConfigFrom({ ...base, task: 'detect', data: det, head: 'upernet' })), { message: /head: 'upernet' is a segmentor, task=detect needs a detector \(mask_rcnn/ });
  await t.throwsAsync(() => trainDense(denseConfigFrom({ ...base, task: 'detect', data: det, batch: 64 })), { message: /batch: 64 is larger than the training set/ });
  await t.throwsAsync(() => trainDense(denseConfigFrom({ ...base, task: 'detect', data: det, head_preset: 'huge' })), { message: /head_preset: 'huge' is not a preset of mask_rcnn \(paper, tiny\)/ });
  mkdirSync(join(root, 'empty'), { recursive: true });
  await t.throwsAsync(() => trainDense(denseConfigFrom({ ...base, task: 'segment', data: join(root, 'empty') })), { message: /ade20k images/ });
  t.false(existsSync(project), 'no run directory was created');
});

test('result table: box/mask AP and mIoU columns as percentages', (t) => {
  const table = denseTable([{ epoch: 1, time: 5, 'train/loss': 2.5, 'metrics/bbox_mAP': 0.1234, 'metrics/segm_mAP': 0.05 }], 1);
  t.is(table, 'epoch  train/loss  box AP  mask AP   time\n1*         2.5000   12.34     5.00  00:05\n');
});
