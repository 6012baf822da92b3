// Bad input on the YOLO data path, handled as ultralytics handles it:
//  - a box reaching outside the image is clipped to the image (train and val pipelines);
//  - an empty label file keeps its image with no targets (a "background"), reported in the scan
//    summary, and "No labels found" when a split has no box at all; a batch without boxes trains
//    with a finite loss (classification term only);
//  - a class id beyond `names` is an error naming the label file and line (ultralytics' check
//    `Label class 7 exceeds dataset class count 4`; it drops the image with a warning, we stop);
//  - crowd boxes (COCO iscrowd) are not training targets.
import test from 'ava';
import { mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { writeSynthetic } from '../datasets/synth/write.ts';
import { createModel } from '../backbones/index.ts';
import { V8DetectionLoss } from '../heads/yolo/loss.ts';
import { defaultYoloConfig, type YoloTrainConfig } from '../train/yolo/config.ts';
import { openYoloData, trainTargets, yoloLoaders } from '../train/yolo/data.ts';
import type { MambaYOLO } from '../backbones/mamba-yolo.ts';
import type { Batch } from '../datasets/types.ts';

const root = mkdtempSync(join(tmpdir(), 'ssmv-yolo-data-'));
const cfgFor = (data: string, over: Partial<YoloTrainConfig> = {}): YoloTrainConfig => ({
  ...defaultYoloConfig(), data, imgsz: 64, batch: 2, workers: 0, backend: 'cpu', mosaic: 0, fliplr: 0, translate: 0, scale: 0, hsv_h: 0, hsv_s: 0, hsv_v: 0, ...over,
});

test.before(async () => {
  await setBackend('cpu');
});

async function firstBatch(loader: { epoch(e: number): AsyncGenerator<Batch> }): Promise<Batch> {
  for await (const b of loader.epoch(0)) return b;
  throw new Error('no batch');
}

test('boxes outside the image are clipped; empty label files are backgrounds with a warning', async (t) => {
  const syn = await writeSynthetic({ task: 'detect', out: join(root, 'clip'), n: 5, size: 64, classes: 2, seed: 3, valFraction: 0.4 });
  const trainLabels = join(root, 'clip', 'labels', 'train');
  const files = readdirSync(trainLabels).sort();
  // image 0: a box centred at x = 0.95 of width 0.3 -> x2 = 1.1 (outside); image 1: an empty label file
  writeFileSync(join(trainLabels, files[0]), '1 0.95 0.5 0.3 0.25\n');
  writeFileSync(join(trainLabels, files[1]), '');
  const cfg = cfgFor(syn.yaml!);
  const data = await openYoloData(cfg);
  t.is(data.train.samples.length, 3, 'every image kept');
  t.true(data.messages.some((m) => /^train: 3 images, 1 backgrounds \(1 empty label file, 0 without a label file\), 0 corrupt$/.test(m)), data.messages.join('\n'));
  t.is(data.train.samples[1].target.kind === 'boxes' && data.train.samples[1].target.classes.length, 0);
  const loaders = yoloLoaders(data, cfg, 1);
  try {
    const b = await firstBatch({ epoch: (e) => loaders.trainClosed.epoch(e) });
    const tt = trainTargets(b);
    const img0 = b.info.findIndex((i) => i.index === 0);
    t.true(img0 >= 0);
    // letterbox of a 64x64 image into 64x64 is the identity: the box is clipped at x = 64
    const k = Array.from(tt.batchIndex).indexOf(img0);
    t.deepEqual(Array.from(tt.boxes.subarray(4 * k, 4 * k + 4)).map((v) => +v.toFixed(2)), [51.2, 24, 64, 40]);
    t.false(Array.from(tt.batchIndex).includes(b.info.findIndex((i) => i.index === 1)), 'the empty-label image has no targets');
  } finally {
    await loaders.train.close();
    await loaders.trainClosed.close();
    await loaders.val?.close();
  }
});

test('a split with no labels at all warns "No labels found"; a batch without boxes has a finite loss', async (t) => {
  const syn = await writeSynthetic({ task: 'detect', out: join(root, 'empty'), n: 4, size: 64, classes: 2, seed: 4, valFraction: 0.25 });
  const dir = join(root, 'empty', 'labels', 'train');
  for (const f of readdirSync(dir)) writeFileSync(join(dir, f), '');
  const data = await openYoloData(cfgFor(syn.yaml!));
  t.true(data.messages.some((m) => /^WARNING: No labels found in train/.test(m)), data.messages.join('\n'));
  const model = createModel('test_mamba_yolo', { nc: 2 }) as unknown as MambaYOLO;
  const loss = new V8DetectionLoss(model.head);
  const r = loss.compute(model.forwardTrain(tf.zeros([2, 64, 64, 3])), { boxes: [], classes: [], batchIndex: [] });
  const [box, cls, dfl] = Array.from(await r.items.data());
  t.is(box, 0);
  t.is(dfl, 0);
  t.true(Number.isFinite(cls) && cls > 0, `cls ${cls}`);
  t.is((await r.numFg.data())[0], 0);
  model.dispose();
});

test('a class id beyond names is an error naming the label file and line', async (t) => {
  const syn = await writeSynthetic({ task: 'detect', out: join(root, 'cls'), n: 4, size: 64, classes: 2, seed: 5, valFraction: 0.25 });
  const dir = join(root, 'cls', 'labels', 'train');
  const f = readdirSync(dir).sort()[1];
  writeFileSync(join(dir, f), '0 0.5 0.5 0.2 0.2\n7 0.3 0.3 0.1 0.1\n');
  const e = await t.throwsAsync(openYoloData(cfgFor(syn.yaml!)));
  t.true(e!.message.includes(join(dir, f)), e!.message);
  t.regex(e!.message, /line 2: class id 7 exceeds the dataset's 2 classes/);
});

test('COCO JSON data: image folder and val JSON found, crowd boxes are not training targets', async (t) => {
  const syn = await writeSynthetic({ task: 'detect', out: join(root, 'coco'), n: 4, size: 64, classes: 2, seed: 6, valFraction: 0.25 });
  const ann = syn.open.train.options.annFile as string;
  const data = await openYoloData(cfgFor(ann));
  t.is(data.kind, 'coco');
  t.is(data.val?.samples.length, 1);
  t.deepEqual(data.names, syn.classes);
  const fake: Batch = {
    images: new Float32Array(0), shape: [1, 64, 64, 3], info: [], skipped: [],
    boxes: Float32Array.from([1, 1, 10, 10, 20, 20, 30, 30]), boxClasses: Int32Array.from([0, 1]), boxBatchIndex: Int32Array.from([0, 0]),
    iscrowd: Uint8Array.from([1, 0]), difficult: Uint8Array.from([0, 0]),
  };
  const tt = trainTargets(fake);
  t.deepEqual(Array.from(tt.classes), [1]);
  t.deepEqual(Array.from(tt.boxes), [20, 20, 30, 30]);
  await t.throwsAsync(openYoloData(cfgFor(join(root, 'nowhere.yaml'))), { message: /does not exist/ });
  await t.throwsAsync(openYoloData(cfgFor(join(root, 'coco', 'data.yaml'), { batch: 64 })).then((d) => yoloLoaders(d, cfgFor('', { batch: 64 }), 1)), { message: /batch: 64 is larger than the training set/ });
});
