// Route primitives shared by the strategies: a route is the list of map positions p = h*W + w
// visited in order (-1 = a zero token from padding). `makePlan` packs K routes into a ScanPlan.
import type { MergeRule, ScanPlan } from './plan.ts';

export type Route = readonly number[];

/** row-major: l = h*W + w (VMamba k=0, LocalMamba 'h') */
export function rowMajor(H: number, W: number): number[] {
  return Array.from({ length: H * W }, (_, i) => i);
}

/** column-major (transpose, then flatten): step l = w*H + h visits h*W + w (VMamba k=1, 'v') */
export function colMajor(H: number, W: number): number[] {
  const out: number[] = [];
  for (let w = 0; w < W; w++) for (let h = 0; h < H; h++) out.push(h * W + w);
  return out;
}

export function reversed(route: Route): number[] {
  return [...route].reverse();
}

/** boustrophedon over rows: row 0 left->right, row 1 right->left, ... (PlainMamba o1, MHS-VM cons_scan_h) */
export function snakeRows(H: number, W: number): number[] {
  const out: number[] = [];
  for (let h = 0; h < H; h++) for (let i = 0; i < W; i++) out.push(h * W + (h % 2 ? W - 1 - i : i));
  return out;
}

/** boustrophedon over columns: column 0 top->bottom, column 1 bottom->top, ... (PlainMamba o3, cons_scan_v) */
export function snakeCols(H: number, W: number): number[] {
  const out: number[] = [];
  for (let w = 0; w < W; w++) for (let i = 0; i < H; i++) out.push((w % 2 ? H - 1 - i : i) * W + w);
  return out;
}

/**
 * LocalMamba's windowed route (`local_scan_bchw`): the map is zero-padded at the bottom/right to a
 * multiple of `win`, windows are taken in row-major window order and each window row-major inside
 * (column-major for both when columnFirst). Padded cells are zero tokens (-1): length Hg*win*Wg*win.
 */
export function windowRoute(H: number, W: number, win: number, columnFirst = false): number[] {
  const Hg = Math.ceil(H / win), Wg = Math.ceil(W / win);
  const out: number[] = [];
  const cell = (h: number, w: number) => (h < H && w < W ? h * W + w : -1);
  if (!columnFirst) {
    for (let gh = 0; gh < Hg; gh++) for (let gw = 0; gw < Wg; gw++) for (let i = 0; i < win; i++) for (let j = 0; j < win; j++) out.push(cell(gh * win + i, gw * win + j));
  } else {
    for (let gw = 0; gw < Wg; gw++) for (let gh = 0; gh < Hg; gh++) for (let j = 0; j < win; j++) for (let i = 0; i < win; i++) out.push(cell(gh * win + i, gw * win + j));
  }
  return out;
}

/** PlainMamba's move codes: 0 start, 1 right, 2 left, 3 up, 4 down; code[t] = move from step t-1 to t. */
export const MOVE_START = 0, MOVE_RIGHT = 1, MOVE_LEFT = 2, MOVE_UP = 3, MOVE_DOWN = 4;

export function moveCodes(route: Route, W: number): number[] {
  return route.map((p, t) => {
    if (t === 0) return MOVE_START;
    const q = route[t - 1];
    const dh = Math.floor(p / W) - Math.floor(q / W), dw = (p % W) - (q % W);
    if (dh === 0 && dw === 1) return MOVE_RIGHT;
    if (dh === 0 && dw === -1) return MOVE_LEFT;
    if (dh === -1 && dw === 0) return MOVE_UP;
    if (dh === 1 && dw === 0) return MOVE_DOWN;
    throw new Error(`moveCodes: step ${t} jumps from ${q} to ${p}, not a 4-neighbour move`);
  });
}

/**
 * Packs K routes into a plan. Routes shorter than the longest are padded with zero tokens at the end
 * (as LocalMamba pads every direction to the longest before one batched scan); their outputs are dropped.
 */
export function makePlan(strategy: string, H: number, W: number, routes: readonly Route[], directions: readonly string[], merge: MergeRule): ScanPlan {
  const K = routes.length;
  const L = Math.max(...routes.map((r) => r.length));
  const index = new Int32Array(K * L).fill(-1);
  routes.forEach((r, k) => index.set(r, k * L));
  return { strategy, H, W, K, L, index, merge, directions: [...directions] };
}

/** The route of direction k of a plan (a copy). */
export function routeOf(plan: ScanPlan, k: number): number[] {
  return Array.from(plan.index.subarray(k * plan.L, (k + 1) * plan.L));
}
