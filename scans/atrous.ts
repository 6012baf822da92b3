// atrous — EfficientVMamba's atrous selective scan ES2D (models.md 4.1), step 2: the map (zero-padded
// at the bottom/right to even sides) is split into its four stride-2 sub-grids, one direction each,
// no reversed directions: (even row, even col) row-major, (odd, even) column-major, (even, odd)
// row-major, (odd, odd) column-major. Every position belongs to exactly one direction, so the merge
// writes each output back where it was read (a 'sum' with one visit per position). Padded cells are
// scanned as zero tokens, as the official code scans the zero padding. Any H x W works.
import { defineStrategy } from './registry.ts';
import { standardCore } from './core.ts';
import { makePlan } from './routes.ts';

/** Direction k's sub-grid (row offset, column offset, column-major?) in the official order. */
const SUBGRIDS: ReadonlyArray<[number, number, boolean, string]> = [
  [0, 0, false, 'even rows, even cols (row-major)'],
  [1, 0, true, 'odd rows, even cols (column-major)'],
  [0, 1, false, 'even rows, odd cols (row-major)'],
  [1, 1, true, 'odd rows, odd cols (column-major)'],
];

export function atrousRoute(H: number, W: number, k: number): number[] {
  const [dh, dw, colFirst] = SUBGRIDS[k];
  const Hs = Math.ceil(H / 2), Ws = Math.ceil(W / 2);
  const cell = (i: number, j: number) => {
    const h = 2 * i + dh, w = 2 * j + dw;
    return h < H && w < W ? h * W + w : -1;
  };
  const out: number[] = [];
  if (colFirst) for (let j = 0; j < Ws; j++) for (let i = 0; i < Hs; i++) out.push(cell(i, j));
  else for (let i = 0; i < Hs; i++) for (let j = 0; j < Ws; j++) out.push(cell(i, j));
  return out;
}

export default defineStrategy({
  name: 'atrous',
  paper: 'EfficientVMamba: Atrous Selective Scan for Light Weight Visual Mamba (Pei et al., arXiv 2403.09977)',
  upstream: 'TerryPei/EfficientVMamba@0bc5ee2 classification/models/vmamba_efficient.py (EfficientScan / EfficientMerge, step_size=2)',
  description: 'four stride-2 sub-grids, one direction each (row, col, row, col), written back in place',
  directions: () => 4,
  build: (H, W) => [makePlan('atrous', H, W, [0, 1, 2, 3].map((k) => atrousRoute(H, W, k)), SUBGRIDS.map((s) => s[3]), 'sum')],
  core: standardCore({ projectVisited: true }), // each position belongs to one direction: project only those
});
