// RLE / polygon / IoU primitives of eval/coco against answers worked out by hand (comments show the work).
import test from 'ava';
import {
  rleEncode,
  rleDecode,
  rleArea,
  rleToBbox,
  rleMerge,
  rleToString,
  rleFromString,
  rleFromCounts,
  rleFrPoly,
  rleFrBbox,
  bbIou,
  rleIou,
  mask,
} from '../eval/coco/index.ts';

// 3x3 mask, row-major:     column-major walk (x*h + y): col0 0 0 0 | col1 1 1 0 | col2 0 1 0
//   0 1 0                  -> 0 0 0 1 1 0 0 1 0 -> runs [3 zeros, 2 ones, 2 zeros, 1 one, 1 zero]
//   0 1 1
//   0 0 0
const M3 = [0, 1, 0, 0, 1, 1, 0, 0, 0];

test('encode walks column-major and starts with a 0-run; decode inverts it', (t) => {
  const R = rleEncode(M3, 3, 3);
  t.deepEqual(Array.from(R.counts), [3, 2, 2, 1, 1]);
  t.deepEqual(Array.from(rleDecode(R)), M3);
  // a mask whose first pixel is set begins with an empty 0-run; rows [1 0], [1 0] -> column 0 is 1 1
  t.deepEqual(Array.from(rleEncode([1, 0, 1, 0], 2, 2).counts), [0, 2, 2]);
  t.deepEqual(Array.from(rleEncode([1, 1, 0, 0], 2, 2).counts), [0, 1, 1, 1, 1]);
  t.deepEqual(Array.from(rleEncode([0, 0, 0, 0], 2, 2).counts), [4]);
});

test('area is the sum of the 1-runs, toBbox the tight box', (t) => {
  const R = rleEncode(M3, 3, 3);
  t.is(rleArea(R), 3);
  t.deepEqual(rleToBbox(R), [1, 0, 2, 2]); // x 1..2, y 0..1
  t.deepEqual(rleToBbox(rleEncode([0, 0, 0, 0], 2, 2)), [0, 0, 0, 0]);
});

test('compressed string: hand-encoded LEB128-like chars', (t) => {
  // [3, 2, 2, 1, 1]: first three stored as is ('3','2','2'), then 1-2 = -1 twice: -1 & 31 = 31 with the sign
  // bit 0x10 set and -1 >> 5 = -1, so one char 31 + 48 = 'O' each.
  t.is(rleToString(rleEncode(M3, 3, 3)), '322OO');
  // 100 = 0b11_00100: low group 4 | 0x20 (more) -> 'T', then 3 -> '3'. 16 has the sign bit in its only
  // group, so it needs a second group: 16 | 0x20 -> '`', then 0 -> '0'.
  t.is(rleToString(rleFromCounts([100, 16], 1, 200)), 'T3`0');
  t.deepEqual(Array.from(rleFromString('T3`0', 1, 200).counts), [100, 16]);
  t.deepEqual(Array.from(rleFromString('322OO', 3, 3).counts), [3, 2, 2, 1, 1]);
});

test('string round trips on random masks, including large counts', (t) => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let trial = 0; trial < 50; trial++) {
    const h = 1 + Math.floor(rand() * 40);
    const w = 1 + Math.floor(rand() * 40);
    const p = rand();
    const m = Array.from({ length: h * w }, () => (rand() < p ? 1 : 0));
    const R = rleEncode(m, h, w);
    const s = rleToString(R);
    t.deepEqual(rleFromString(s, h, w), R);
    t.deepEqual(Array.from(rleDecode(rleFromString(s, h, w))), m);
    t.is(rleArea(R), m.reduce((a: number, b) => a + b, 0));
  }
  const big = rleFromCounts([0, 4_000_000, 1, 123_456_789, 5], 1, 127_456_795);
  t.deepEqual(rleFromString(rleToString(big), 1, 127_456_795), big);
});

test('bad compressed strings are refused with a reason', (t) => {
  t.throws(() => rleFromString('3 2', 3, 3), { message: /outside the alphabet/ });
  t.throws(() => rleFromString('T', 3, 3), { message: /ends inside a count/ });
  t.throws(() => rleFromCounts([1, -2], 3, 3), { message: /not a non-negative integer/ });
  t.throws(() => rleDecode(rleFromCounts([5, 9], 3, 3)), { message: /more than h\*w/ });
});

test('polygon areas by hand: pixels whose centre lies inside', (t) => {
  // square 0..10: centres 0.5..9.5 in x and y -> 10 x 10
  const sq = rleFrPoly([0, 0, 10, 0, 10, 10, 0, 10], 20, 20);
  t.is(rleArea(sq), 100);
  t.deepEqual(rleToBbox(sq), [0, 0, 10, 10]);
  // triangle (0,0) (12,0) (0,6): centre (x+.5, y+.5) inside iff x + 2y < 10.5 (never on the edge):
  // rows y = 0..5 hold 11, 9, 7, 5, 3, 1 pixels = 36
  const tri = rleFrPoly([0, 0, 12, 0, 0, 6], 20, 20);
  t.is(rleArea(tri), 36);
  t.deepEqual(rleToBbox(tri), [0, 0, 11, 6]);
  // the same triangle on a 4-row image keeps rows 0..3: 11 + 9 + 7 + 5 = 32
  t.is(rleArea(rleFrPoly([0, 0, 12, 0, 0, 6], 4, 20)), 32);
  // the strings pycocotools' frPyObjects gives for these (checked against the official maskApi.c)
  t.is(rleToString(sq), '0::00000000000000000X6');
  t.is(rleToString(tri), '06>O100O100O100O100O10d5');
  // a box goes through the same rasteriser
  t.deepEqual(rleFrBbox([0, 0, 10, 10], 20, 20), sq);
});

test('merge: union and intersection of two boxes', (t) => {
  const a = rleFrBbox([0, 0, 4, 4], 10, 10); // 16 px
  const b = rleFrBbox([2, 2, 4, 4], 10, 10); // 16 px, overlap 2x2
  t.is(rleArea(rleMerge([a, b])), 28);
  t.is(rleArea(rleMerge([a, b], true)), 4);
  t.deepEqual(rleToBbox(rleMerge([a, b], true)), [2, 2, 2, 2]);
  // masks of different sizes merge to an empty RLE, as maskApi.c does
  t.is(rleMerge([a, rleFrBbox([0, 0, 4, 4], 10, 11)]).h, 0);
});

test('IoU of boxes and masks, crowd uses the detection area as union', (t) => {
  // dt 10x10 at 0, gt 10x10 at x=5: intersection 50; union 150, or 100 (dt area) when crowd
  const o = bbIou([[0, 0, 10, 10]], [[5, 0, 10, 10], [5, 0, 10, 10]], [1, 0]);
  t.deepEqual(Array.from(o), [0.5, 50 / 150]);
  const d = rleFrBbox([0, 0, 10, 10], 20, 20);
  const g = rleFrBbox([5, 0, 10, 10], 20, 20);
  t.deepEqual(Array.from(rleIou([d], [g, g], [1, 0])), [0.5, 50 / 150]);
  // no overlap -> 0; overlapping boxes but masks of another size -> -1
  t.deepEqual(Array.from(rleIou([d], [rleFrBbox([15, 15, 3, 3], 20, 20)], [0])), [0]);
  t.deepEqual(Array.from(rleIou([d], [rleFrBbox([5, 0, 10, 10], 20, 21)], [0])), [-1]);
  t.deepEqual(mask.iou([[0, 0, 10, 10]], [], []), []);
});

test('mask module mirrors pycocotools.mask on JSON RLEs', (t) => {
  const r = mask.encode(M3, 3, 3);
  t.deepEqual(r, { size: [3, 3], counts: '322OO' });
  t.is(mask.area(r), 3);
  t.deepEqual(mask.toBbox(r), [1, 0, 2, 2]);
  t.deepEqual(Array.from(mask.decode(r)), M3);
  t.deepEqual(mask.frPyObjects({ size: [1, 200], counts: [100, 16] }, 1, 200), { size: [1, 200], counts: 'T3`0' });
  const polys = mask.frPyObjects([[0, 0, 10, 0, 10, 10, 0, 10]], 20, 20) as { counts: string }[];
  t.is(polys[0].counts, '0::00000000000000000X6');
  t.is(mask.area(mask.merge(mask.frPyObjects([[0, 0, 4, 4], [2, 2, 4, 4]], 10, 10) as never)), 28);
});
