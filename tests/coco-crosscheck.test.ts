// Random COCO sets scored by the official cocoapi (tests/fixtures/coco-crosscheck/README.md says how):
// the 12 stats for bbox and segm, and pycocotools' polygon rasterisation string by string.
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { evaluateCoco, COCO, COCOeval, rleFrPoly, rleToString, rleArea, rleToBbox } from '../eval/coco/index.ts';

const DIR = 'tests/fixtures/coco-crosscheck/';
const cases = readdirSync(DIR).filter((d) => d.startsWith('case'));

test('there are cross-check cases', (t) => {
  t.true(cases.length >= 4);
});

for (const c of cases) {
  test(`${c}: 12 stats equal the official cocoapi (bbox, segm)`, (t) => {
    const expected = JSON.parse(readFileSync(`${DIR}${c}/expected.json`, 'utf8')) as Record<'bbox' | 'segm', number[]>;
    for (const iou of ['bbox', 'segm'] as const) {
      const r = evaluateCoco(`${DIR}${c}/gt.json`, `${DIR}${c}/dt_${iou}.json`, iou, { onWarning: () => {} });
      r.stats.forEach((s, i) => t.true(Math.abs(s - expected[iou][i]) <= 1e-12, `${iou} stat ${i}: ${s} vs ${expected[iou][i]}`));
    }
  });

  test(`${c}: useCats = 0 (categories ignored) equals the official cocoapi`, (t) => {
    const expected = JSON.parse(readFileSync(`${DIR}${c}/expected_usecats0.json`, 'utf8')) as Record<'bbox' | 'segm', number[]>;
    for (const iou of ['bbox', 'segm'] as const) {
      const gt = new COCO(`${DIR}${c}/gt.json`);
      const E = new COCOeval(gt, gt.loadRes(`${DIR}${c}/dt_${iou}.json`, { onWarning: () => {} }), iou);
      E.params.useCats = false;
      E.evaluate();
      E.accumulate();
      E.summarize().forEach((s, i) => t.true(Math.abs(s - expected[iou][i]) <= 1e-12, `${iou} stat ${i}: ${s} vs ${expected[iou][i]}`));
    }
  });

  test(`${c}: polygons rasterise to pycocotools' RLE strings`, (t) => {
    const polys = JSON.parse(readFileSync(`${DIR}${c}/polys.json`, 'utf8')) as { p: number[]; h: number; w: number; counts: string; area: number; bbox: number[] }[];
    for (const p of polys) {
      const R = rleFrPoly(p.p, p.h, p.w);
      t.is(rleToString(R), p.counts);
      t.is(rleArea(R), p.area);
      t.deepEqual(rleToBbox(R), p.bbox);
    }
  });
}
