// `ssmv eval coco|voc`: output format, --json, and bad input reported as one line (exit 1/2, no stack).
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli/main.ts';

const GOLD = 'tests/fixtures/golden/coco/';

async function ssmv(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'ssmv-eval-'));
const write = (name: string, v: unknown) => {
  const p = join(tmp, name);
  writeFileSync(p, JSON.stringify(v));
  return p;
};

test.serial('eval coco prints pycocotools\' 12 lines; --json gives the stats array', async (t) => {
  const txt = await ssmv('eval', 'coco', `gt=${GOLD}gt.json`, `dt=${GOLD}dt_bbox.json`, 'iou=bbox');
  t.is(txt.code, 0);
  const lines = txt.out.trimEnd().split('\n');
  t.is(lines.length, 12);
  t.is(lines[0], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.280');
  t.is(lines[11], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.528');
  const js = await ssmv('eval', 'coco', `gt=${GOLD}gt.json`, `dt=${GOLD}dt_segm.json`, 'iou=segm', '--json');
  const expected = JSON.parse((await import('node:fs')).readFileSync(GOLD + 'expected.json', 'utf8'));
  const r = JSON.parse(js.out);
  t.is(r.stats.length, 12);
  r.stats.forEach((s: number, i: number) => t.true(Math.abs(s - expected.segm[i]) <= 1e-6));
  t.is(r.perCategory.length, 5);
});

test.serial('eval coco: bad input is one clear line, never a stack', async (t) => {
  const gt = write('gt.json', {
    images: [{ id: 1, width: 50, height: 50 }],
    annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 }],
    categories: [{ id: 1, name: 'a' }],
  });
  const unknownImg = await ssmv('eval', 'coco', `gt=${gt}`, `dt=${write('d1.json', [{ image_id: 2, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }])}`);
  t.is(unknownImg.code, 1);
  t.regex(unknownImg.err, /^ssmv eval: Results do not correspond to current coco set/);
  t.notRegex(unknownImg.err, /\n\s+at /);
  const empty = write('d2.json', []);
  const e = await ssmv('eval', 'coco', `gt=${gt}`, `dt=${empty}`);
  t.is(e.code, 1);
  t.regex(e.err, /results are empty/);
  const allowed = await ssmv('eval', 'coco', `gt=${gt}`, `dt=${empty}`, '--allow-empty', '--json');
  t.deepEqual(JSON.parse(allowed.out).stats, [0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1]);
  const cat = await ssmv('eval', 'coco', `gt=${gt}`, `dt=${write('d3.json', [{ image_id: 1, category_id: 9, bbox: [0, 0, 10, 10], score: 1 }])}`);
  t.is(cat.code, 0);
  t.regex(cat.err, /warning: 1 results have category ids not in the ground truth \(9\)/);
  const neg = await ssmv('eval', 'coco', `gt=${gt}`, `dt=${write('d4.json', [{ image_id: 1, category_id: 1, bbox: [0, 0, -10, 10], score: 1 }])}`);
  t.is(neg.code, 0);
  t.regex(neg.err, /negative width or height/);
  const bad = await ssmv('eval', 'coco', `gt=${gt}`, `dt=${join(tmp, 'missing.json')}`);
  t.regex(bad.err, /cannot read .*missing\.json/);
  const usage = await ssmv('eval', 'coco', `gt=${gt}`, `dt=${empty}`, 'iou=keypoints');
  t.is(usage.code, 2);
  t.regex(usage.err, /iou: 'keypoints' is not one of bbox, segm/);
  t.regex((await ssmv('eval', 'cocoo')).err, /unknown evaluator 'cocoo' \(did you mean coco/);
});

test.serial('eval voc: per-class table and --json mAP', async (t) => {
  const gt = write('voc-gt.json', {
    classes: ['cat', 'dog'],
    images: [
      { id: 'a', boxes: [[0, 0, 9, 9], [20, 20, 29, 29]], labels: [0, 1], difficult: [0, 0] },
      { id: 'b', boxes: [[0, 0, 9, 9]], labels: [0] },
    ],
  });
  const dt = write('voc-dt.json', [
    { image_id: 'a', label: 0, box: [0, 0, 9, 9], score: 0.9 },
    { image_id: 'b', label: 0, box: [30, 30, 39, 39], score: 0.8 },
    { image_id: 'a', label: 1, box: [20, 20, 29, 29], score: 0.7 },
  ]);
  // cat: TP then FP, 2 objects -> recall .5 at precision 1 -> area AP .5; dog: AP 1 -> mAP .75
  const r = await ssmv('eval', 'voc', `gt=${gt}`, `dt=${dt}`, '--json');
  t.is(r.code, 0);
  const j = JSON.parse(r.out);
  t.is(j.mAP, 0.75);
  t.deepEqual(j.perClass.map((c: { ap: number }) => c.ap), [0.5, 1]);
  const txt = await ssmv('eval', 'voc', `gt=${gt}`, `dt=${dt}`, 'metric=11point');
  t.regex(txt.out, /mAP \(11point, IoU 0.5\) = /);
  const bad = await ssmv('eval', 'voc', `gt=${gt}`, `dt=${write('voc-bad.json', [{ image_id: 'zz', label: 0, box: [0, 0, 1, 1], score: 1 }])}`);
  t.is(bad.code, 1);
  t.regex(bad.err, /image_id "zz" is not in the ground truth/);
});

test.serial('eval seg: two folders of PNG label maps (grayscale and palette), hand-computed mIoU', async (t) => {
  const { encodeIndexPng, vocPalette } = await import('../datasets/io/png.ts');
  const { mkdirSync } = await import('node:fs');
  const predDir = join(tmp, 'pred');
  const gtDir = join(tmp, 'gt');
  mkdirSync(predDir, { recursive: true });
  mkdirSync(gtDir, { recursive: true });
  // the confusion of tests/eval-seg.test.ts: mIoU 13/18, mAcc 5/6, aAcc 4/5 (4 classes, one 255 pixel)
  writeFileSync(join(gtDir, 'x.png'), encodeIndexPng(Uint8Array.from([0, 0, 1, 1, 2, 255]), 3, 2, vocPalette()));
  writeFileSync(join(predDir, 'x.png'), encodeIndexPng(Uint8Array.from([0, 1, 1, 1, 2, 0]), 3, 2));
  const r = await ssmv('eval', 'seg', `pred=${predDir}`, `gt=${gtDir}`, 'classes=4', '--json');
  t.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  t.true(Math.abs(j.mIoU - 13 / 18) < 1e-12);
  t.true(Math.abs(j.mAcc - 5 / 6) < 1e-12);
  t.is(j.aAcc, 0.8);
  t.is(j.perClass[3].iou, null);
  const txt = await ssmv('eval', 'seg', `pred=${predDir}`, `gt=${gtDir}`, 'classes=4', 'names=a,b,c,d');
  t.regex(txt.out, /mIoU  72\.22/);
  writeFileSync(join(gtDir, 'y.png'), encodeIndexPng(Uint8Array.from([0, 0]), 2, 1));
  const miss = await ssmv('eval', 'seg', `pred=${predDir}`, `gt=${gtDir}`, 'classes=4');
  t.is(miss.code, 1);
  t.regex(miss.err, /1 ground-truth maps have no prediction .*\(e\.g\. y\)/);
  writeFileSync(join(predDir, 'y.png'), encodeIndexPng(Uint8Array.from([0, 0, 0]), 3, 1));
  t.regex((await ssmv('eval', 'seg', `pred=${predDir}`, `gt=${gtDir}`, 'classes=4')).err, /is 3x1 but its ground truth .* is 2x1/);
  t.regex((await ssmv('eval', 'seg', `pred=${predDir}`, `gt=${gtDir}`)).err, /classes= is required/);
});
