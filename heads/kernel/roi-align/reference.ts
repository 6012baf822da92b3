// The oracle for the RoIAlign kernels: mmcv's formula transcribed literally (every bin's sample points
// and bilinear corner weights written on the host into a dense (bins, N*H*W) matrix M), applied as one
// differentiable tfjs matMul: out = M . x. Its gradient (M^T . dy) therefore comes from tfjs' autodiff,
// independently of the hand-written backward kernels. Memory O(bins * N*H*W): tests only, never a
// fallback. Written without the kernels' helpers on purpose.
import { tf, type Tensor } from '../../../core/tf.ts';
import { roiAlignAttrs, type RoIAlignOptions } from './types.ts';

const f32 = Math.fround;


/** mmcv bilinear_interpolate: the four corners and weights, or none outside [-1, size]. */
function corners(y0: number, x0: number, H: number, W: number): Array<[number, number, number]> {
  if (y0 < -1 || y0 > H || x0 < -1 || x0 > W) return [];
  let y = y0 <= 0 ? 0 : y0;
  let x = x0 <= 0 ? 0 : x0;
  let yl = Math.trunc(y), xl = Math.trunc(x), yh: number, xh: number;
  if (yl >= H - 1) { yl = yh = H - 1; y = yl; } else yh = yl + 1;
  if (xl >= W - 1) { xl = xh = W - 1; x = xl; } else xh = xl + 1;
  const ly = f32(y - yl), lx = f32(x - xl), hy = f32(1 - ly), hx = f32(1 - lx);
  return [[yl, xl, hy * hx], [yl, xh, hy * lx], [yh, xl, ly * hx], [yh, xh, ly * lx]];
}

/** M (R*PH*PW, N*H*W): row = output bin, column = feature pixel, value = its total weight. */
export function roiAlignMatrix(xShape: readonly number[], rois: ArrayLike<number>, opts: RoIAlignOptions): Float32Array {
  const a = roiAlignAttrs(opts);
  const [N, H, W] = xShape;
  const R = rois.length / 5;
  const cols = N * H * W;
  const m = new Float64Array(R * a.pooledH * a.pooledW * cols);
  const off = a.aligned ? 0.5 : 0;
  for (let r = 0; r < R; r++) {
    const row = Array.from({ length: 5 }, (_, k) => rois[r * 5 + k]);
    const n = Math.trunc(row[0]);
    if (!row.every(Number.isFinite) || n < 0 || n >= N) continue; // samples nothing: zeros
    const [sx, sy, ex, ey] = row.slice(1).map((v) => f32(f32(f32(v) * f32(a.spatialScale)) - off));
    let rw = f32(ex - sx), rh = f32(ey - sy);
    if (!a.aligned) { rw = Math.max(rw, 1); rh = Math.max(rh, 1); }
    const bh = f32(rh / a.pooledH), bw = f32(rw / a.pooledW);
    const gh = a.samplingRatio || Math.ceil(bh), gw = a.samplingRatio || Math.ceil(bw);
    const count = Math.max(gh * gw, 1);
    for (let ph = 0; ph < a.pooledH; ph++) {
      for (let pw = 0; pw < a.pooledW; pw++) {
        const bin = (r * a.pooledH + ph) * a.pooledW + pw;
        for (let iy = 0; iy < gh; iy++) {
          const y = f32(f32(sy + f32(ph * bh)) + f32(f32((iy + 0.5) * bh) / gh));
          for (let ix = 0; ix < gw; ix++) {
            const x = f32(f32(sx + f32(pw * bw)) + f32(f32((ix + 0.5) * bw) / gw));
            for (const [yy, xx, wt] of corners(y, x, H, W)) m[bin * cols + (n * H + yy) * W + xx] += wt / count;
          }
        }
      }
    }
  }
  return Float32Array.from(m);
}

/** x (N, H, W, C), rois (R*5) on the host -> (R, oh, ow, C), differentiable in x through tfjs ops. */
export function roiAlignReference(x: Tensor, rois: ArrayLike<number>, opts: RoIAlignOptions): Tensor {
  const a = roiAlignAttrs(opts);
  const [N, H, W, C] = x.shape;
  const R = rois.length / 5;
  const bins = R * a.pooledH * a.pooledW;
  const m = roiAlignMatrix(x.shape, rois, opts);
  return tf.tidy(() => {
    const out = tf.matMul(tf.tensor2d(m, [bins, N * H * W]), tf.reshape(x, [N * H * W, C])); // (bins, C)
    return tf.reshape(out, [R, a.pooledH, a.pooledW, C]);
  });
}
