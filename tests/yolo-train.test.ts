// A short end-to-end training of test_mamba_yolo at image size 64 on synthetic shapes
// (writeSynthetic({task: 'detect'}), what `ssmv data synth --task detect` writes) through the real
// path: ultralytics YAML -> yolo loader -> letterbox pipeline -> v8 loss with the task-aligned
// assigner -> SGD groups -> EMA -> validation (NMS + COCO mAP) -> weights/, results.csv; then
// `ssmv predict` on the trained weights.
//
// At 64 px the objects are 6-14 px while the initial DFL boxes span 15 grid cells (120 px at stride 8),
// so the task-aligned targets start near zero and every loss term first rises as the boxes shrink onto
// the objects, then falls. The test overfits 4 images (validated on the same images, so the mAP
// measures the whole detection path rather than generalisation) with a constant lr 0.03, batch 4, no
// warmup or augmentation: 18 updates, validation after the last; cpu backend, deterministic.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setBackend } from '../core/backend.ts';
import { writeSynthetic } from '../datasets/synth/write.ts';
import { defaultYoloConfig } from '../train/yolo/config.ts';
import { trainYolo } from '../train/yolo/trainer.ts';
import { RESULT_COLUMNS } from '../train/yolo/report.ts';
import { run as predict } from '../cli/predict.ts';

const root = mkdtempSync(join(tmpdir(), 'ssmv-yolo-train-'));
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

test.before(async () => {
  await setBackend('cpu');
});

test.serial('test_mamba_yolo at 64 px: every loss term falls after its peak, non-zero mAP, run directory, predict', async (t) => {
  const syn = await writeSynthetic({ task: 'detect', out: join(root, 'shapes'), n: 5, size: 64, classes: 4, seed: 0, valFraction: 0.2 });
  const yaml = join(root, 'shapes', 'same.yaml');
  writeFileSync(yaml, `path: .\ntrain: images/train\nval: images/train\nnames:\n${syn.classes.map((c, i) => `  ${i}: ${c}`).join('\n')}\n`);
  const epochs = 18;
  const r = await trainYolo({
    ...defaultYoloConfig(), model: 'test_mamba_yolo', data: yaml, imgsz: 64, batch: 4, nbs: 4, epochs, workers: 0, backend: 'cpu',
    lr0: 0.03, lrf: 1, warmup_epochs: 0, mosaic: 0, close_mosaic: 0, hsv_h: 0, hsv_s: 0, hsv_v: 0, fliplr: 0, translate: 0, scale: 0,
    val: false, project: join(root, 'runs'), name: 'train',
  }, { out: quiet });
  t.is(r.reason, 'completed');
  t.is(r.history.length, epochs);
  const terms = ['train/box_loss', 'train/cls_loss', 'train/dfl_loss'] as const;
  for (const k of terms) {
    const v = r.history.map((h) => h[k]);
    const peak = Math.max(...v);
    const tail = (v[epochs - 1] + v[epochs - 2] + v[epochs - 3]) / 3;
    t.log(`${k}: ${v.map((x) => x.toFixed(2)).join(' ')}`);
    t.true(tail < 0.85 * peak, `${k}: last three epochs ${tail.toFixed(3)} vs peak ${peak.toFixed(3)}`);
  }
  const last = r.history[epochs - 1];
  t.log(`final: P ${last['metrics/precision(B)'].toFixed(3)} R ${last['metrics/recall(B)'].toFixed(3)} mAP50 ${last['metrics/mAP50(B)'].toFixed(4)} mAP50-95 ${last['metrics/mAP50-95(B)'].toFixed(4)} in ${r.seconds.toFixed(1)} s`);
  t.true(last['metrics/mAP50-95(B)'] > 0, 'non-zero mAP50-95 (COCOeval)');
  t.true(last['metrics/mAP50(B)'] >= last['metrics/mAP50-95(B)']);
  for (const k of ['val/box_loss', 'val/cls_loss', 'val/dfl_loss', 'metrics/precision(B)', 'metrics/recall(B)'] as const) t.true(Number.isFinite(last[k]), k);
  t.true(Number.isNaN(r.history[0]['metrics/mAP50(B)']), 'val=false: only the final epoch is validated');
  // the run directory, ultralytics' layout
  const csv = readFileSync(join(r.dir, 'results.csv'), 'utf8').trim().split('\n');
  t.is(csv[0], RESULT_COLUMNS.join(','));
  t.is(csv.length, epochs + 1);
  for (const f of ['weights/last.safetensors', 'weights/last.ema.safetensors', 'weights/last.optim.safetensors', 'weights/last.json', 'weights/best.safetensors', 'args.yaml', 'results.png', 'train.log']) {
    t.true(existsSync(join(r.dir, f)), f);
  }
  t.regex(readFileSync(join(r.dir, 'args.yaml'), 'utf8'), /^lr0: 0\.03$/m);
  // ssmv predict with the trained weights: annotated image + predictions.json
  const img = join(root, 'shapes', 'images', 'train', '000000.jpg');
  const code = await predict(['model=test_mamba_yolo', `weights=${join(r.dir, 'weights', 'last')}`, `source=${img}`, 'imgsz=64', 'conf=0.001', `project=${join(root, 'runs')}`, 'name=predict', 'backend=cpu']);
  t.is(code, 0);
  const pred = JSON.parse(readFileSync(join(root, 'runs', 'predict', 'predictions.json'), 'utf8'));
  t.is(pred.images.length, 1);
  t.deepEqual([pred.images[0].width, pred.images[0].height], [64, 64]);
  t.true(pred.images[0].detections.length > 0);
  for (const d of pred.images[0].detections) t.true(syn.classes.includes(d.name) && d.confidence >= 0.001 && d.box.x1 >= 0 && d.box.x2 <= 64);
  t.true(existsSync(join(root, 'runs', 'predict', '000000.jpg')));
});
