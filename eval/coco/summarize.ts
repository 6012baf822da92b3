// COCOeval.summarize for bbox/segm (cocoapi `PythonAPI/pycocotools/cocoeval.py` @ 8c9bcc3): the 12 numbers,
// each the mean of the accumulated entries > -1 (numpy's pairwise summation, so the last bits agree), and
// the lines pycocotools prints, in its exact layout and with Python's round-half-even formatting.
import type { Params } from './params.ts';

export interface SummaryLine {
  ap: boolean;
  iouThr: number | null;
  areaRng: string;
  maxDets: number;
  value: number;
  text: string;
}

interface AccumulatedLike {
  precision: Float64Array;
  recall: Float64Array;
  counts: [number, number, number, number, number];
}

/** numpy's pairwise sum of a float64 array (8 accumulators per block of <= 128, halves above). */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = a[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** Python's '{:0.<digits>f}'.format(x): correctly rounded, exact ties to even (JS toFixed rounds ties up). */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  const ax = Math.abs(x);
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const j = ax * 2 ** (digits + 1); // exact (power of two)
  // an exact tie at `digits` decimals is x = odd / 2^(digits+1)
  if (Number.isInteger(j) && j % 2 === 1 && j * 5 ** digits < 2 ** 53) {
    const down = (j * 5 ** digits - 1) / 2; // |x| * 10^digits = down + 0.5
    const n = down % 2 === 0 ? down : down + 1;
    const s = n.toString().padStart(digits + 1, '0');
    return sign + (digits ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s);
  }
  return sign + ax.toFixed(digits);
}

function line(ap: boolean, iouStr: string, areaRng: string, maxDets: number, v: number): string {
  const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
  const type = ap ? '(AP)' : '(AR)';
  return ` ${title} ${type} @[ IoU=${iouStr.padEnd(9)} | area=${areaRng.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${pyFixed(v, 3)}`;
}

/** One _summarize call: mean of precision (ap) or recall at the given threshold / area label / maxDets. */
export function summarizeOne(ev: AccumulatedLike, p: Params, ap: boolean, iouThr: number | null, areaRng: string, maxDets: number): SummaryLine {
  const [T, R, K, A, M] = ev.counts;
  const iouStr = iouThr === null ? `${pyFixed(p.iouThrs[0], 2)}:${pyFixed(p.iouThrs[T - 1], 2)}` : pyFixed(iouThr, 2);
  const aind = p.areaRngLbl.flatMap((l, i) => (l === areaRng ? [i] : []));
  const mind = p.maxDets.flatMap((m, i) => (m === maxDets ? [i] : []));
  const tind = iouThr === null ? Array.from({ length: T }, (_, t) => t) : Array.from(p.iouThrs).flatMap((v, t) => (v === iouThr ? [t] : []));
  // gather in numpy's C order of s[t][:, :, aind, mind] (advanced indices pair up: aind[j] with mind[j])
  const pairs = aind.length === mind.length ? aind.map((a, j) => [a, mind[j]]) : aind.length === 1 ? mind.map((m) => [aind[0], m]) : mind.length === 1 ? aind.map((a) => [a, mind[0]]) : [];
  const vals: number[] = [];
  for (const t of tind) {
    if (ap) {
      for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) for (const [a, m] of pairs) {
        const v = ev.precision[(((t * R + r) * K + k) * A + a) * M + m];
        if (v > -1) vals.push(v);
      }
    } else {
      for (let k = 0; k < K; k++) for (const [a, m] of pairs) {
        const v = ev.recall[((t * K + k) * A + a) * M + m];
        if (v > -1) vals.push(v);
      }
    }
  }
  const value = vals.length === 0 ? -1 : pairwiseSum(vals) / vals.length;
  return { ap, iouThr, areaRng, maxDets, value, text: line(ap, iouStr, areaRng, maxDets, value) };
}

/** The 12 detection stats in pycocotools' order and their printed lines. */
export function summarizeDets(ev: AccumulatedLike, p: Params): { stats: number[]; lines: SummaryLine[] } {
  const md = p.maxDets;
  const lines = [
    summarizeOne(ev, p, true, null, 'all', 100),
    summarizeOne(ev, p, true, 0.5, 'all', md[2]),
    summarizeOne(ev, p, true, 0.75, 'all', md[2]),
    summarizeOne(ev, p, true, null, 'small', md[2]),
    summarizeOne(ev, p, true, null, 'medium', md[2]),
    summarizeOne(ev, p, true, null, 'large', md[2]),
    summarizeOne(ev, p, false, null, 'all', md[0]),
    summarizeOne(ev, p, false, null, 'all', md[1]),
    summarizeOne(ev, p, false, null, 'all', md[2]),
    summarizeOne(ev, p, false, null, 'small', md[2]),
    summarizeOne(ev, p, false, null, 'medium', md[2]),
    summarizeOne(ev, p, false, null, 'large', md[2]),
  ];
  return { stats: lines.map((l) => l.value), lines };
}
