// cross — VMamba's SS2D cross-scan (models.md 2.3): row-major, column-major, and both reversed, in
// the official order of directions; merged by summing every direction's output at its position.
// A subset of the four (option `directions`) gives GroupMamba's one-direction SS2D per channel group
// (CrossScan_1..4 = h, v, h_flip, v_flip) or VMamba's 1-/2-direction ablations.
import { defineStrategy } from './registry.ts';
import { standardCore } from './core.ts';
import { colMajor, makePlan, reversed, rowMajor } from './routes.ts';

/** The four VMamba routes, named with LocalMamba's vocabulary. */
export const CROSS_ROUTES = {
  h: { label: 'row-major', route: rowMajor },
  v: { label: 'column-major', route: colMajor },
  h_flip: { label: 'reversed row-major', route: (H: number, W: number) => reversed(rowMajor(H, W)) },
  v_flip: { label: 'reversed column-major', route: (H: number, W: number) => reversed(colMajor(H, W)) },
} as const;

type CrossRoute = keyof typeof CROSS_ROUTES;
const NAMES = Object.keys(CROSS_ROUTES) as CrossRoute[];

export default defineStrategy({
  name: 'cross',
  paper: 'VMamba: Visual State Space Model (Liu et al., NeurIPS 2024, arXiv 2401.10166)',
  upstream: 'MzeroMiko/VMamba@2ed52ea classification/models/csm_triton.py (cross_scan_fwd / cross_merge_fwd, scans=0); GroupMamba csms6s.py (CrossScan_1..4) for single directions',
  description: 'row-major, column-major and both reversed (VMamba SS2D order), summed',
  options: {
    directions: { type: 'list', default: ['h', 'v', 'h_flip', 'v_flip'], help: 'routes in order, from h (row-major), v (column-major), h_flip, v_flip' },
  },
  check(o) {
    const dirs = o.directions as string[];
    if (!dirs.length) throw new Error(`scan 'cross': option directions needs at least one of ${NAMES.join(', ')}`);
    for (const d of dirs) if (!(d in CROSS_ROUTES)) throw new Error(`scan 'cross': unknown direction '${d}' in option directions; choose from ${NAMES.join(', ')}`);
  },
  directions: (o) => (o.directions as string[]).length,
  build(H, W, o) {
    const dirs = o.directions as CrossRoute[];
    return [makePlan('cross', H, W, dirs.map((d) => CROSS_ROUTES[d].route(H, W)), dirs.map((d) => CROSS_ROUTES[d].label), 'sum')];
  },
  core: standardCore(),
});
