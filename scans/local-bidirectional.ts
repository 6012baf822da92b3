// local-bidirectional — LBMamba (models.md 6.5): one forward scan over the row-major sequence whose
// kernel adds, inside each aligned window of w steps, a local backward scan to the state
// (selectiveScan's `localBackward`). The official window is the CUDA kernel's items per thread, so it
// depends on L: L <= 128 -> 4, <= 256 -> 8, else 16 (option window=0 keeps that rule). LBVim flips
// the token sequence after every layer (`layerwise_reverse_sq`), so with alternate=true layer i scans
// forward when i is even and in reverse when i is odd (windows then align from the reversed start).
import { defineStrategy } from './registry.ts';
import { standardCore } from './core.ts';
import { makePlan, reversed, rowMajor } from './routes.ts';

/** LBMamba's window for a sequence of L steps (kNItems of the forward kernel launch). */
export function lbmWindow(L: number): number {
  return L <= 128 ? 4 : L <= 256 ? 8 : 16;
}

export default defineStrategy({
  name: 'local-bidirectional',
  paper: 'LBMamba: Locally Bi-directional Mamba (arXiv 2506.15976)',
  upstream: 'cvlab-stonybrook/LBMamba@5215551 LBMamba_kernel/selective_scan_fwd_kernel.cuh + reverse_scan.cuh (ThreadReverseScanForForward), classification/models_mamba_bi.py (BiVisionMamba.forward_features, layerwise_reverse_sq)',
  description: 'forward row-major scan with a local backward scan inside windows (kernel option); layers may alternate direction',
  options: {
    window: { type: 'int', default: 0, help: 'local backward window in steps; 0 = the official rule from L (4 / 8 / 16)' },
    alternate: { type: 'boolean', default: false, help: 'reverse the scan on odd layers, as LBVim flips the sequence after every layer' },
    layer: { type: 'int', default: 0, help: 'index of the layer this block is (with alternate)' },
  },
  check(o) {
    if ((o.window as number) < 0) throw new Error(`scan 'local-bidirectional': option window must be >= 0 (0 = official rule), got ${o.window}`);
    if ((o.layer as number) < 0) throw new Error(`scan 'local-bidirectional': option layer must be >= 0, got ${o.layer}`);
  },
  directions: () => 1,
  build(H, W, o) {
    const back = o.alternate && (o.layer as number) % 2 === 1;
    const route = back ? reversed(rowMajor(H, W)) : rowMajor(H, W);
    const w = (o.window as number) || lbmWindow(H * W);
    return [makePlan('local-bidirectional', H, W, [route], [`${back ? 'reversed row-major' : 'row-major'} + local backward (window ${w})`], 'sum')];
  },
  core: standardCore({ localBackward: (o, plan) => (o.window as number) || lbmWindow(plan.L) }),
});
