// CPU kernels of RoIAlign: loops over tfjs' cpu typed arrays (NHWC, so each sample's four corners are
// read as contiguous channel runs). Sums in float64, geometry in float32 steps (types.ts). The backward
// is the exact adjoint: each output bin's gradient / count goes to the corners with the same weights.
// `roiAlignArrays` is also the host function for mask targets (masks cropped and resized per RoI).
import { tf } from '../../../core/tf.ts';
import { ROI_ALIGN_GRAD_KERNEL, ROI_ALIGN_KERNEL, roiGeometry, sampleCoord, type RoIAlignAttrs, type RoIAlignGradAttrs } from './types.ts';

type Values = Float32Array | Int32Array;
interface CpuBackend {
  data: { get(id: object): { values: Values } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

/** One sample's corners: flat pixel offsets (y*W + x) and bilinear weights; false outside [-1, size]. */
interface Corners { p: [number, number, number, number]; w: [number, number, number, number] }

function corners(yIn: number, xIn: number, H: number, W: number, out: Corners): boolean {
  if (yIn < -1 || yIn > H || xIn < -1 || xIn > W) return false;
  let y = yIn <= 0 ? 0 : yIn;
  let x = xIn <= 0 ? 0 : xIn;
  let yl = Math.trunc(y), xl = Math.trunc(x), yh = yl + 1, xh = xl + 1;
  if (yl >= H - 1) { yl = yh = H - 1; y = yl; }
  if (xl >= W - 1) { xl = xh = W - 1; x = xl; }
  const ly = Math.fround(y - yl), lx = Math.fround(x - xl), hy = Math.fround(1 - ly), hx = Math.fround(1 - lx);
  out.p[0] = yl * W + xl; out.p[1] = yl * W + xh; out.p[2] = yh * W + xl; out.p[3] = yh * W + xh;
  out.w[0] = hy * hx; out.w[1] = hy * lx; out.w[2] = ly * hx; out.w[3] = ly * lx;
  return true;
}

/**
 * Visits every (roi, bin, sample) with its corners: `visit(outBase, featBase, corners, 1 / count)`
 * where outBase = ((r*PH + ph)*PW + pw)*C and featBase = n*H*W*C.
 */
function forEachSample(xShape: readonly number[], rois: ArrayLike<number>, a: RoIAlignAttrs, visit: (outBase: number, featBase: number, c: Corners, scale: number) => void): void {
  const [N, H, W, C] = xShape;
  const R = rois.length / 5;
  const cs: Corners = { p: [0, 0, 0, 0], w: [0, 0, 0, 0] };
  for (let r = 0; r < R; r++) {
    const g = roiGeometry(rois, r, a, N);
    if (!g) continue;
    const featBase = g.batch * H * W * C;
    for (let ph = 0; ph < a.pooledH; ph++) {
      for (let pw = 0; pw < a.pooledW; pw++) {
        const outBase = ((r * a.pooledH + ph) * a.pooledW + pw) * C;
        for (let iy = 0; iy < g.gridH; iy++) {
          const y = sampleCoord(g.startY, ph, g.binH, iy, g.gridH);
          for (let ix = 0; ix < g.gridW; ix++) {
            const x = sampleCoord(g.startX, pw, g.binW, ix, g.gridW);
            if (corners(y, x, H, W, cs)) visit(outBase, featBase, cs, 1 / g.count);
          }
        }
      }
    }
  }
}

/** x (N*H*W*C) NHWC, rois (R*5) -> (R*PH*PW*C). */
export function roiAlignArrays(x: ArrayLike<number>, xShape: readonly number[], rois: ArrayLike<number>, a: RoIAlignAttrs): Float32Array {
  const C = xShape[3];
  const R = rois.length / 5;
  const acc = new Float64Array(R * a.pooledH * a.pooledW * C);
  forEachSample(xShape, rois, a, (ob, fb, cs, scale) => {
    for (let k = 0; k < 4; k++) {
      const wt = cs.w[k] * scale;
      if (wt === 0) continue;
      const src = fb + cs.p[k] * C;
      for (let c = 0; c < C; c++) acc[ob + c] += wt * x[src + c];
    }
  });
  return Float32Array.from(acc);
}

/** dy (R*PH*PW*C) -> dx (N*H*W*C): the adjoint of roiAlignArrays. */
export function roiAlignGradArrays(dy: ArrayLike<number>, xShape: readonly number[], rois: ArrayLike<number>, a: RoIAlignAttrs): Float32Array {
  const C = xShape[3];
  const dx = new Float64Array(xShape[0] * xShape[1] * xShape[2] * C);
  forEachSample(xShape, rois, a, (ob, fb, cs, scale) => {
    for (let k = 0; k < 4; k++) {
      const wt = cs.w[k] * scale;
      if (wt === 0) continue;
      const dst = fb + cs.p[k] * C;
      for (let c = 0; c < C; c++) dx[dst + c] += wt * dy[ob + c];
    }
  });
  return Float32Array.from(dx);
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };

function forwardCpu({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const be = backend as CpuBackend;
  const a = attrs as unknown as RoIAlignAttrs;
  const { x, rois } = inputs as Record<string, tf.TensorInfo>;
  const out = roiAlignArrays(be.data.get(x.dataId).values, x.shape, be.data.get(rois.dataId).values, a);
  return be.makeTensorInfo([rois.shape[0], a.pooledH, a.pooledW, x.shape[3]], 'float32', out);
}

function backwardCpu({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const be = backend as CpuBackend;
  const a = attrs as unknown as RoIAlignGradAttrs;
  const { dy, rois } = inputs as Record<string, tf.TensorInfo>;
  const dx = roiAlignGradArrays(be.data.get(dy.dataId).values, a.xShape, be.data.get(rois.dataId).values, a);
  return be.makeTensorInfo([...a.xShape], 'float32', dx);
}

export function registerCpuKernels(): void {
  tf.registerKernel({ kernelName: ROI_ALIGN_KERNEL, backendName: 'cpu', kernelFunc: forwardCpu as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: ROI_ALIGN_GRAD_KERNEL, backendName: 'cpu', kernelFunc: backwardCpu as unknown as tf.KernelFunc });
}
