// mmdet AnchorGenerator (models/task_modules/prior_generators/anchor_generator.py) with Mask R-CNN's
// settings: per level base anchors of size base_size (= stride) x scale, for each ratio h/w
// (scale_major: ratio outer, scale inner), centred at (0, 0) (center_offset 0), unrounded; shifted to
// every feature position x*stride, y*stride in (y, x, anchor) order, which is the order of an NHWC
// head output (H, W, A) flattened.

export interface AnchorConfig {
  strides: number[];
  ratios: number[];
  scales: number[];
}

export const MASK_RCNN_ANCHORS: AnchorConfig = { strides: [4, 8, 16, 32, 64], ratios: [0.5, 1, 2], scales: [8] };

export function numBaseAnchors(c: AnchorConfig): number {
  return c.ratios.length * c.scales.length;
}

/** (A*4) base anchors of one level around (0, 0). */
export function baseAnchors(baseSize: number, ratios: number[], scales: number[]): Float32Array {
  const out: number[] = [];
  for (const r of ratios) {
    const hRatio = Math.sqrt(r), wRatio = 1 / hRatio;
    for (const s of scales) {
      const ws = baseSize * wRatio * s, hs = baseSize * hRatio * s;
      out.push(-0.5 * ws, -0.5 * hs, 0.5 * ws, 0.5 * hs);
    }
  }
  return Float32Array.from(out);
}

/** (h*w*A*4) anchors of a level whose feature map is h x w. */
export function gridAnchors(base: Float32Array, h: number, w: number, stride: number): Float32Array {
  const A = base.length / 4;
  const out = new Float32Array(h * w * A * 4);
  let o = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = x * stride, sy = y * stride;
      for (let a = 0; a < A; a++) {
        out[o++] = base[4 * a] + sx;
        out[o++] = base[4 * a + 1] + sy;
        out[o++] = base[4 * a + 2] + sx;
        out[o++] = base[4 * a + 3] + sy;
      }
    }
  }
  return out;
}

/** Anchors of every level for feature sizes [[h, w], ...] (cached by size: they do not depend on data). */
export class AnchorGenerator {
  private readonly bases: Float32Array[];
  private readonly cache = new Map<string, Float32Array[]>();

  constructor(readonly cfg: AnchorConfig) {
    this.bases = cfg.strides.map((s) => baseAnchors(s, cfg.ratios, cfg.scales));
  }

  get numBase(): number {
    return numBaseAnchors(this.cfg);
  }

  levels(sizes: Array<[number, number]>): Float32Array[] {
    if (sizes.length !== this.cfg.strides.length) throw new Error(`anchors: ${sizes.length} feature levels for ${this.cfg.strides.length} strides`);
    const key = sizes.map((s) => s.join('x')).join(',');
    let v = this.cache.get(key);
    if (!v) {
      v = sizes.map(([h, w], i) => gridAnchors(this.bases[i], h, w, this.cfg.strides[i]));
      this.cache.set(key, v);
    }
    return v;
  }
}
