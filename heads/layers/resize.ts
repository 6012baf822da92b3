// Resizing and adaptive pooling as PyTorch computes them, on NHWC, with exact gradients: each is a
// separable linear map, applied as one matMul per axis with a (out, in) matrix built on the host.
// tfjs' own ResizeBilinear gradient ignores halfPixelCenters (it back-propagates the align-corners=False
// legacy mapping) and swaps H and W in its output shape, so it cannot train PyTorch's align_corners=False.
//   bilinear (F.interpolate, align_corners=False): src = max((dst + 0.5) * in/out - 0.5, 0)
//   nearest  (F.interpolate 'nearest'):           src = min(floor(dst * in/out), in - 1)
//   adaptive average pooling (nn.AdaptiveAvgPool2d): bin i = [floor(i*in/out), ceil((i+1)*in/out))
import { tf, type Tensor } from '../../core/tf.ts';

type Kind = 'bilinear' | 'nearest' | 'adaptive_avg';
const cache = new Map<string, Float32Array>();

/** (out, in) row-major matrix of one axis. */
export function axisMatrix(kind: Kind, inSize: number, outSize: number): Float32Array {
  const key = `${kind}:${inSize}:${outSize}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (kind === 'nearest') {
      m[o * inSize + Math.min(Math.floor(o * scale), inSize - 1)] = 1;
    } else if (kind === 'bilinear') {
      const src = Math.max((o + 0.5) * scale - 0.5, 0);
      const i0 = Math.trunc(src), i1 = i0 < inSize - 1 ? i0 + 1 : i0;
      const l = src - i0;
      m[o * inSize + i0] += 1 - l;
      m[o * inSize + i1] += l;
    } else {
      const s = Math.floor((o * inSize) / outSize), e = Math.ceil(((o + 1) * inSize) / outSize);
      for (let i = s; i < e; i++) m[o * inSize + i] = 1 / (e - s);
    }
  }
  cache.set(key, m);
  return m;
}

/** Applies an (out, in) matrix along axis 1 (H) or 2 (W) of (B, H, W, C). */
function alongAxis(x: Tensor, axis: 1 | 2, m: Float32Array, outSize: number): Tensor {
  const [B, H, W, C] = x.shape;
  const inSize = axis === 1 ? H : W;
  const perm = axis === 1 ? [1, 0, 2, 3] : [2, 0, 1, 3];
  const moved = tf.reshape(tf.transpose(x, perm), [inSize, -1]); // (in, rest)
  const y = tf.matMul(tf.tensor2d(m, [outSize, inSize]), moved); // (out, rest)
  return axis === 1
    ? tf.transpose(tf.reshape(y, [outSize, B, W, C]), [1, 0, 2, 3])
    : tf.transpose(tf.reshape(y, [outSize, B, H, C]), [1, 2, 0, 3]);
}

function separable(x: Tensor, kind: Kind, outH: number, outW: number): Tensor {
  return tf.tidy(() => {
    const [, H, W] = x.shape;
    let y = x;
    if (outH !== H || kind === 'adaptive_avg') y = alongAxis(y, 1, axisMatrix(kind, H, outH), outH);
    if (outW !== W || kind === 'adaptive_avg') y = alongAxis(y, 2, axisMatrix(kind, W, outW), outW);
    return y === x ? tf.clone(x) : y;
  });
}

/** F.interpolate(x, size, mode='bilinear', align_corners=False) on (B, H, W, C). */
export function resizeBilinear(x: Tensor, outH: number, outW: number): Tensor {
  return separable(x, 'bilinear', outH, outW);
}

/** F.interpolate(x, size, mode='nearest') on (B, H, W, C); integer upscales as a tile (no matMul). */
export function resizeNearest(x: Tensor, outH: number, outW: number): Tensor {
  const [B, H, W, C] = x.shape;
  if (outH % H === 0 && outW % W === 0 && (outH > H || outW > W)) {
    const fh = outH / H, fw = outW / W;
    // rank-3 tiles (tfjs' Tile gradient stops at rank 4): rows, then columns
    return tf.tidy(() => {
      const rows = tf.reshape(tf.tile(tf.reshape(x, [B * H, 1, W * C]), [1, fh, 1]), [B * outH * W, 1, C]);
      return tf.reshape(tf.tile(rows, [1, fw, 1]), [B, outH, outW, C]);
    });
  }
  return separable(x, 'nearest', outH, outW);
}

/** nn.AdaptiveAvgPool2d((outH, outW)) on (B, H, W, C). */
export function adaptiveAvgPool(x: Tensor, outH: number, outW: number): Tensor {
  return separable(x, 'adaptive_avg', outH, outW);
}
