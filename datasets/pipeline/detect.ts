// Detection pipelines after ultralytics (ultralytics/data/augment.py v8_transforms): train =
// Mosaic (2x2, p) or LetterBox -> RandomPerspective limited to scale + translate (degrees, shear and
// perspective 0 as in the default config) -> RandomHSV -> RandomFlip (ud, lr); eval = LetterBox.
// Each source image gets one map (source pixels -> output pixels) that moves pixels, boxes, polygons
// and masks together; the image is resampled once (transforms/geometry.ts).
import type { Rng } from '../../core/rng.ts';
import type { Affine, Item, Sample } from '../types.ts';
import { DataError } from '../common.ts';
import { decodeRgb, imageSize, readBytes } from '../io/decode.ts';
import { rasterizePolygons } from '../io/polygon.ts';
import { rleDecode, rleFromJson } from '../../eval/coco/rle.ts';
import {
  boxCandidates, clipBoxes, compose, hflipMap, letterbox, mapBoxes, mapPolygons, mirrorRect, renderMask, renderTiles,
  tileRect, vflipMap, type Rect, type Tile,
} from '../transforms/geometry.ts';
import { hsvJitter, normalize } from '../transforms/color.ts';
import type { DetectEvalSpec, DetectTrainSpec } from './spec.ts';
import type { Rle } from '../types.ts';

const FILL: [number, number, number] = [114, 114, 114];

/** A decoded detection sample: annotations in source pixels, image possibly decoded smaller. */
interface Loaded {
  sample: Sample;
  tile: Tile;
  boxes: Float32Array;
  classes: Int32Array;
  iscrowd: Uint8Array;
  difficult: Uint8Array;
  polygons: (number[][] | null)[] | null;
  rles: (Rle | null)[] | null;
}

/** Decodes `s`, resized to `resizeFor(w, h)` when that gives a size; annotations stay in source pixels. */
async function loadDetection(s: Sample, resizeFor: (w: number, h: number) => { width: number; height: number } | null): Promise<Loaded> {
  const t = s.target;
  if (t.kind !== 'boxes') throw new DataError(s.file, 'target', `a detection pipeline needs box annotations, got '${t.kind}'`);
  const n = t.classes.length;
  if (t.boxes.length !== 4 * n) throw new DataError(s.file, 'boxes', `${t.boxes.length / 4} boxes for ${n} classes`);
  const buf = await readBytes(s.file);
  const { width: w, height: h } = await imageSize(buf, s.file);
  const rs = resizeFor(w, h);
  const image = await decodeRgb(buf, s.file, rs ? { resize: { ...rs, fit: 'fill', interpolation: 'bilinear' } } : {});
  const boxes = new Float32Array(t.boxes);
  let polygons = t.polygons ?? null;
  if (t.normalized) {
    for (let i = 0; i < boxes.length; i += 2) {
      boxes[i] *= w;
      boxes[i + 1] *= h;
    }
    if (polygons) polygons = polygons.map((ps) => ps && ps.map((p) => p.map((v, k) => v * (k % 2 ? h : w))));
  }
  return {
    sample: s,
    tile: { image, decodeScale: rs ? [rs.width / w, rs.height / h] : [1, 1], sourceSize: [w, h], map: { sx: 1, sy: 1, tx: 0, ty: 0 } },
    boxes,
    classes: Int32Array.from(t.classes),
    iscrowd: Uint8Array.from(t.iscrowd ?? new Array(n).fill(0)),
    difficult: Uint8Array.from(t.difficult ?? new Array(n).fill(0)),
    polygons,
    rles: t.rles ?? null,
  };
}

interface Assembled {
  boxes: number[];
  classes: number[];
  iscrowd: number[];
  difficult: number[];
  polygons: (number[][] | null)[];
  masks: Uint8Array[];
}

/** Moves every tile's annotations into the output, filtering boxes as RandomPerspective when `filter`. */
function assemble(parts: Loaded[], outW: number, outH: number, filter: boolean, instanceMasks: boolean): Assembled {
  const a: Assembled = { boxes: [], classes: [], iscrowd: [], difficult: [], polygons: [], masks: [] };
  const anyPolys = parts.some((p) => p.polygons?.some((q) => q));
  for (const p of parts) {
    const { tile } = p;
    const rect = tileRect(tile, outW, outH);
    const mapped = mapBoxes(p.boxes, tile.map);
    const before = tile.clip ? clipBoxes(new Float32Array(mapped), tile.clip) : mapped;
    const after = clipBoxes(new Float32Array(mapped), rect);
    const keep = filter ? boxCandidates(before, after, 2, 100, anyPolys ? 0.01 : 0.1) : new Array(p.classes.length).fill(true);
    for (let i = 0; i < p.classes.length; i++) {
      if (!keep[i]) continue;
      a.boxes.push(after[4 * i], after[4 * i + 1], after[4 * i + 2], after[4 * i + 3]);
      a.classes.push(p.classes[i]);
      a.iscrowd.push(p.iscrowd[i]);
      a.difficult.push(p.difficult[i]);
      const poly = p.polygons?.[i] ?? null;
      a.polygons.push(poly ? mapPolygons(poly, tile.map, rect) : null);
      if (instanceMasks) {
        const rle = p.rles?.[i] ?? null;
        if (poly) a.masks.push(rasterizePolygons(a.polygons[a.polygons.length - 1]!, outW, outH));
        else if (rle) {
          const [h, w] = rle.size;
          a.masks.push(renderMask(rleDecode(rleFromJson(rle)), w, h, tile.map, outW, outH, 0, rect));
        } else throw new DataError(p.sample.file, `instance ${i}`, 'instance masks were requested but this instance has neither a polygon nor an RLE mask');
      }
    }
  }
  return a;
}

function toItem(s: Sample, image: Float32Array, size: number, a: Assembled, primary: Loaded, map: Affine, instanceMasks: boolean): Item {
  const item: Item = {
    index: s.index, image, height: size, width: size,
    boxes: Float32Array.from(a.boxes), classes: Int32Array.from(a.classes), iscrowd: Uint8Array.from(a.iscrowd), difficult: Uint8Array.from(a.difficult),
    sourceSize: [primary.tile.sourceSize[1], primary.tile.sourceSize[0]], affine: map,
  };
  if (a.polygons.some((p) => p)) item.polygons = a.polygons;
  if (instanceMasks) {
    const m = new Uint8Array(a.masks.length * size * size);
    a.masks.forEach((mk, i) => m.set(mk, i * size * size));
    item.instanceMasks = m;
  }
  return item;
}

export function detectTrainRunner(spec: DetectTrainSpec) {
  const s = spec.size;
  return {
    /** extra samples this item needs (mosaic partners); decided first so both loader paths agree */
    partners: (rng: Rng) => (spec.mosaic > 0 && rng.random() < spec.mosaic ? 3 : 0),
    run: async (samples: Sample[], rng: Rng): Promise<Item> => {
      // ultralytics load_image: long side resized to s
      const loadSize = (w: number, h: number) => {
        const r = s / Math.max(w, h);
        return { width: Math.max(1, Math.min(Math.ceil(w * r), s)), height: Math.max(1, Math.min(Math.ceil(h * r), s)) };
      };
      const parts = await Promise.all(samples.map((x) => loadDetection(x, loadSize)));
      let toCanvas: Affine; // canvas -> output (RandomPerspective), built below
      const sc = 1 + rng.uniform(-spec.scale, spec.scale);
      if (parts.length === 4) {
        // Mosaic._mosaic4 on a 2s x 2s canvas around a random centre
        const xc = Math.trunc(rng.uniform(s / 2, 1.5 * s)), yc = Math.trunc(rng.uniform(s / 2, 1.5 * s));
        parts.forEach((p, i) => {
          const w = p.tile.image.width, h = p.tile.image.height;
          let a: Rect, b: Rect;
          if (i === 0) {
            a = [Math.max(xc - w, 0), Math.max(yc - h, 0), xc, yc];
            b = [w - (a[2] - a[0]), h - (a[3] - a[1]), w, h];
          } else if (i === 1) {
            a = [xc, Math.max(yc - h, 0), Math.min(xc + w, 2 * s), yc];
            b = [0, h - (a[3] - a[1]), Math.min(w, a[2] - a[0]), h];
          } else if (i === 2) {
            a = [Math.max(xc - w, 0), yc, xc, Math.min(2 * s, yc + h)];
            b = [w - (a[2] - a[0]), 0, w, Math.min(a[3] - a[1], h)];
          } else {
            a = [xc, yc, Math.min(xc + w, 2 * s), Math.min(2 * s, yc + h)];
            b = [0, 0, Math.min(w, a[2] - a[0]), Math.min(a[3] - a[1], h)];
          }
          const [dsx, dsy] = p.tile.decodeScale;
          p.tile.map = { sx: dsx, sy: dsy, tx: a[0] - b[0], ty: a[1] - b[1] };
          p.tile.clip = a;
        });
        // RandomPerspective with border -s/2: C = -(2s)/2, scale, T = U(0.5 -/+ translate) * s
        const tx = rng.uniform(0.5 - spec.translate, 0.5 + spec.translate) * s;
        const ty = rng.uniform(0.5 - spec.translate, 0.5 + spec.translate) * s;
        toCanvas = { sx: sc, sy: sc, tx: tx - sc * s, ty: ty - sc * s };
      } else {
        // LetterBox to s x s (pre_transform), then RandomPerspective with border 0: C = -s/2
        const p = parts[0];
        const lb = letterbox(p.tile.sourceSize[0], p.tile.sourceSize[1], s, s);
        p.tile.map = lb.map;
        p.tile.clip = [lb.left, lb.top, lb.left + lb.newW, lb.top + lb.newH];
        const tx = rng.uniform(0.5 - spec.translate, 0.5 + spec.translate) * s;
        const ty = rng.uniform(0.5 - spec.translate, 0.5 + spec.translate) * s;
        toCanvas = { sx: sc, sy: sc, tx: tx - (sc * s) / 2, ty: ty - (sc * s) / 2 };
      }
      // RandomFlip ud then lr, folded into the maps (RandomHSV is per pixel and commutes with them)
      let flip: Affine = { sx: 1, sy: 1, tx: 0, ty: 0 };
      if (spec.flipud > 0 && rng.random() < spec.flipud) flip = compose(flip, vflipMap(s));
      if (spec.fliplr > 0 && rng.random() < spec.fliplr) flip = compose(flip, hflipMap(s));
      const post = compose(toCanvas, flip);
      for (const p of parts) {
        p.tile.map = compose(p.tile.map, post);
        if (p.tile.clip) p.tile.clip = mirrorRect(p.tile.clip, post);
      }
      const assembled = assemble(parts, s, s, true, spec.instanceMasks);
      const img = renderTiles(parts.map((p) => p.tile), s, s, FILL);
      hsvJitter(img, spec.hsv, rng);
      const image = normalize(img, spec.mean, spec.std);
      return toItem(samples[0], image, s, assembled, parts[0], parts[0].tile.map, spec.instanceMasks);
    },
  };
}

export function detectEvalRunner(spec: DetectEvalSpec) {
  const s = spec.size;
  return async ([sample]: Sample[]): Promise<Item> => {
    // decode straight to the letterboxed size: the render is then an exact copy at the pad offset
    const part = await loadDetection(sample, (w, h) => {
      const lb = letterbox(w, h, s, s, spec.scaleup);
      return { width: lb.newW, height: lb.newH };
    });
    const lb = letterbox(part.tile.sourceSize[0], part.tile.sourceSize[1], s, s, spec.scaleup);
    part.tile.map = lb.map;
    const assembled = assemble([part], s, s, false, spec.instanceMasks);
    const img = renderTiles([part.tile], s, s, FILL);
    return toItem(sample, normalize(img, spec.mean, spec.std), s, assembled, part, lb.map, spec.instanceMasks);
  };
}
