// The COCO annotation API, ported from cocoapi `PythonAPI/pycocotools/coco.py` (cocodataset/cocoapi @ 8c9bcc3):
// load an instances file, index it (anns, imgs, cats, imgToAnns, catToImgs), filter ids with the same
// semantics as getAnnIds/getCatIds/getImgIds, load results (loadRes) with its checks and its area/bbox/id
// rules, and convert an annotation's segmentation to RLE (annToRLE).
// Differences, all on bad input: pycocotools' assertion/KeyError/IndexError become Errors that name the
// problem, and two things it does silently (results for unknown categories, boxes of negative size) warn.
import { readFileSync } from 'node:fs';
import type { CocoAnnotation, CocoCategory, CocoDataset, CocoImage, CocoResult, Id } from './types.ts';
import { type Rle, rleArea, rleDecode, rleFromJson, rleToBbox, isRleJson } from './rle.ts';
import { segmentationToRle } from './poly.ts';

type OneOrMany<T> = T | readonly T[];
const asList = <T>(v: OneOrMany<T> | undefined): readonly T[] => (v === undefined ? [] : Array.isArray(v) ? (v as readonly T[]) : [v as T]);

export interface LoadResOptions {
  /** pycocotools fails on an empty results list (IndexError on anns[0]); true scores it as "no detections". */
  allowEmpty?: boolean;
  /** where warnings go (default console.warn); they are also kept in `res.warnings` */
  onWarning?: (msg: string) => void;
}

const describe = (ids: Iterable<unknown>, max = 5) => {
  const a = [...ids];
  return a.slice(0, max).map((v) => JSON.stringify(v)).join(', ') + (a.length > max ? `, ... (${a.length} in all)` : '');
};

/** Read a JSON file with an error that names the file. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export class COCO {
  dataset: CocoDataset = {};
  anns = new Map<Id, CocoAnnotation>();
  imgs = new Map<Id, CocoImage>();
  cats = new Map<Id, CocoCategory>();
  imgToAnns = new Map<Id, CocoAnnotation[]>();
  catToImgs = new Map<Id, Id[]>();
  /** problems noticed while loading (duplicate ids, unknown categories in results, ...) */
  warnings: string[] = [];

  /** `dataset`: a parsed instances file, or a path to one. */
  constructor(dataset?: CocoDataset | string) {
    if (dataset === undefined) return;
    const d = typeof dataset === 'string' ? readJsonFile(dataset) : dataset;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) {
      throw new Error(`annotation file format ${Array.isArray(d) ? 'list' : typeof d} not supported (expected an object with images, annotations, categories)`);
    }
    this.dataset = d as CocoDataset;
    this.createIndex();
  }

  createIndex(): void {
    const ds = this.dataset;
    for (const key of ['images', 'annotations', 'categories'] as const) {
      if (key in ds && !Array.isArray(ds[key])) throw new Error(`'${key}' must be a list, got ${typeof ds[key]}`);
    }
    const anns = new Map<Id, CocoAnnotation>();
    const imgs = new Map<Id, CocoImage>();
    const cats = new Map<Id, CocoCategory>();
    const imgToAnns = new Map<Id, CocoAnnotation[]>();
    const catToImgs = new Map<Id, Id[]>();
    let dupAnn = 0;
    if (ds.annotations) {
      ds.annotations.forEach((ann, i) => {
        if (typeof ann !== 'object' || ann === null) throw new Error(`annotations[${i}] is not an object`);
        for (const k of ['id', 'image_id'] as const) {
          if (!(k in ann)) throw new Error(`annotations[${i}] has no '${k}'`);
        }
        let list = imgToAnns.get(ann.image_id);
        if (!list) imgToAnns.set(ann.image_id, (list = []));
        list.push(ann);
        if (anns.has(ann.id)) dupAnn++;
        anns.set(ann.id, ann); // a later annotation with the same id replaces the earlier one, as in the dict
      });
    }
    if (ds.images) {
      ds.images.forEach((img, i) => {
        if (typeof img !== 'object' || img === null || !('id' in img)) throw new Error(`images[${i}] is not an object with an 'id'`);
        imgs.set(img.id, img);
      });
    }
    if (ds.categories) {
      ds.categories.forEach((cat, i) => {
        if (typeof cat !== 'object' || cat === null || !('id' in cat)) throw new Error(`categories[${i}] is not an object with an 'id'`);
        cats.set(cat.id, cat);
      });
    }
    if (ds.annotations && ds.categories) {
      for (const ann of ds.annotations) {
        let l = catToImgs.get(ann.category_id);
        if (!l) catToImgs.set(ann.category_id, (l = []));
        l.push(ann.image_id);
      }
    }
    if (dupAnn) this.warnings.push(`${dupAnn} annotations repeat an earlier id: as in pycocotools, loadAnns returns the last one for that id`);
    Object.assign(this, { anns, imgs, cats, imgToAnns, catToImgs });
  }

  /**
   * Annotation ids passing every given filter (an empty filter is skipped). `areaRng` is exclusive at both
   * ends here (pycocotools: area > lo and area < hi), unlike COCOeval's inclusive ranges.
   */
  getAnnIds(f: { imgIds?: OneOrMany<Id>; catIds?: OneOrMany<Id>; areaRng?: readonly number[]; iscrowd?: boolean | number | null } = {}): Id[] {
    const imgIds = asList(f.imgIds);
    const catIds = asList(f.catIds);
    const areaRng = f.areaRng ?? [];
    let anns: readonly CocoAnnotation[];
    if (imgIds.length === 0 && catIds.length === 0 && areaRng.length === 0) {
      anns = this.dataset.annotations ?? [];
    } else {
      anns = imgIds.length ? imgIds.flatMap((i) => this.imgToAnns.get(i) ?? []) : (this.dataset.annotations ?? []);
      if (catIds.length) {
        const s = new Set<Id>(catIds);
        anns = anns.filter((a) => s.has(a.category_id));
      }
      if (areaRng.length) anns = anns.filter((a) => (a.area as number) > areaRng[0] && (a.area as number) < areaRng[1]);
    }
    if (f.iscrowd !== undefined && f.iscrowd !== null) {
      const want = Number(f.iscrowd);
      return anns.filter((a) => Number(a.iscrowd) === want).map((a) => a.id);
    }
    return anns.map((a) => a.id);
  }

  /** Category ids matching the given names / supercategory names / ids (file order). */
  getCatIds(f: { catNms?: OneOrMany<string>; supNms?: OneOrMany<string>; catIds?: OneOrMany<Id> } = {}): Id[] {
    const catNms = asList(f.catNms);
    const supNms = asList(f.supNms);
    const catIds = asList(f.catIds);
    let cats: readonly CocoCategory[] = this.dataset.categories ?? [];
    if (catNms.length) cats = cats.filter((c) => catNms.includes(c.name));
    if (supNms.length) cats = cats.filter((c) => c.supercategory !== undefined && supNms.includes(c.supercategory));
    if (catIds.length) cats = cats.filter((c) => catIds.includes(c.id));
    return cats.map((c) => c.id);
  }

  /**
   * Image ids: all (file order) without filters; else the given ids (not checked against the images, as in
   * pycocotools) intersected with the images holding EVERY given category. pycocotools returns a Python set's
   * order here; ours is first-seen order.
   */
  getImgIds(f: { imgIds?: OneOrMany<Id>; catIds?: OneOrMany<Id> } = {}): Id[] {
    const imgIds = asList(f.imgIds);
    const catIds = asList(f.catIds);
    if (imgIds.length === 0 && catIds.length === 0) return [...this.imgs.keys()];
    let ids = new Set<Id>(imgIds);
    catIds.forEach((c, i) => {
      const withCat = new Set<Id>(this.catToImgs.get(c) ?? []);
      if (i === 0 && ids.size === 0) ids = withCat;
      else ids = new Set([...ids].filter((x) => withCat.has(x)));
    });
    return [...ids];
  }

  private load<T>(map: Map<Id, T>, ids: OneOrMany<Id>, what: string): T[] {
    return asList(ids).map((id) => {
      const v = map.get(id);
      if (v === undefined) throw new Error(`no ${what} with id ${JSON.stringify(id)}`);
      return v;
    });
  }
  loadAnns(ids: OneOrMany<Id>): CocoAnnotation[] {
    return this.load(this.anns, ids, 'annotation');
  }
  loadCats(ids: OneOrMany<Id>): CocoCategory[] {
    return this.load(this.cats, ids, 'category');
  }
  loadImgs(ids: OneOrMany<Id>): CocoImage[] {
    return this.load(this.imgs, ids, 'image');
  }

  /** The annotation's segmentation as one RLE on its image (polygons merged): annToRLE. */
  annToRLE(ann: CocoAnnotation): Rle {
    const img = this.imgs.get(ann.image_id);
    if (!img) throw new Error(`annotation ${JSON.stringify(ann.id)}: image ${JSON.stringify(ann.image_id)} is not in this dataset`);
    if (ann.segmentation === undefined) throw new Error(`annotation ${JSON.stringify(ann.id)} has no 'segmentation'`);
    const { height: h, width: w } = img;
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
      throw new Error(`image ${JSON.stringify(img.id)} needs integer 'height' and 'width', got ${h} x ${w}`);
    }
    return segmentationToRle(ann.segmentation, h, w, `annotation ${JSON.stringify(ann.id)} segmentation`);
  }

  /** Binary mask (h, w) row-major of an annotation (annToMask). */
  annToMask(ann: CocoAnnotation): Uint8Array {
    return rleDecode(this.annToRLE(ann));
  }

  /**
   * Load detection results against this ground truth (loadRes). `results`: a parsed list or a path.
   * As pycocotools: every image_id must be a ground-truth image; ids become index+1; the first result decides
   * the kind: with a non-empty `bbox`, every result gets area w*h, iscrowd 0 and (if it has none) the box as
   * its segmentation polygon; else with a `segmentation` (RLE), area = mask area and bbox = the mask's box if
   * missing. Results are copied, never modified.
   */
  loadRes(results: readonly unknown[] | string, opts: LoadResOptions = {}): COCO {
    const warn = (msg: string) => {
      res.warnings.push(msg);
      (opts.onWarning ?? ((m: string) => console.warn(`coco: ${m}`)))(msg);
    };
    const res = new COCO();
    res.dataset.images = [...(this.dataset.images ?? [])];
    const loaded = typeof results === 'string' ? readJsonFile(results) : results;
    if (!Array.isArray(loaded)) throw new Error('results is not an array of objects');
    loaded.forEach((a, i) => {
      if (typeof a !== 'object' || a === null || Array.isArray(a)) throw new Error(`results[${i}] is not an object`);
      for (const k of ['image_id', 'category_id'] as const) if (!(k in a)) throw new Error(`results[${i}] has no '${k}'`);
    });
    const anns = (loaded as CocoResult[]).map((a) => ({ ...a }) as CocoAnnotation);
    const gtImgs = new Set(this.getImgIds());
    const unknownImgs = new Set(anns.map((a) => a.image_id).filter((id) => !gtImgs.has(id)));
    if (unknownImgs.size) {
      throw new Error(`Results do not correspond to current coco set: image ids ${describe(unknownImgs)} are not in the ground truth`);
    }
    if (anns.length === 0) {
      if (!opts.allowEmpty) {
        throw new Error('results are empty: pycocotools fails here (IndexError in loadRes); pass allowEmpty (CLI: --allow-empty) to score them as no detections');
      }
      res.dataset.categories = structuredClone(this.dataset.categories ?? []);
      res.dataset.annotations = [];
      res.createIndex();
      return res;
    }
    const first = anns[0];
    if ('caption' in first) throw new Error('caption results are not supported (only bbox and segm)');
    const fail = (i: number, msg: string): never => {
      throw new Error(`results[${i}] (image ${JSON.stringify(anns[i].image_id)}): ${msg}`);
    };
    anns.forEach((a, i) => {
      if (typeof a.score !== 'number' || !Number.isFinite(a.score)) fail(i, `'score' must be a finite number, got ${JSON.stringify(a.score)}`);
    });
    if ('bbox' in first && !(Array.isArray(first.bbox) && first.bbox.length === 0)) {
      let negative = 0;
      anns.forEach((a, i) => {
        const bb = a.bbox;
        if (!Array.isArray(bb) || bb.length !== 4 || !bb.every((v) => typeof v === 'number' && Number.isFinite(v))) {
          fail(i, `'bbox' must be [x, y, w, h] of finite numbers (the first result has one), got ${JSON.stringify(bb)}`);
        }
        const [x, y, w, h] = bb as number[];
        if (w < 0 || h < 0) negative++;
        if (!('segmentation' in a)) a.segmentation = [[x, y, x, y + h, x + w, y + h, x + w, y]];
        a.area = w * h;
        a.id = i + 1;
        a.iscrowd = 0;
      });
      if (negative) {
        warn(
          `${negative} results have a box of negative width or height; pycocotools keeps them silently: area = w*h, ` +
            'no overlap with anything, so one negative side makes the area negative (ignored in every area range) ' +
            'and two make it a false positive',
        );
      }
    } else if ('segmentation' in first) {
      anns.forEach((a, i) => {
        const s = a.segmentation;
        if (!isRleJson(s)) fail(i, `'segmentation' of a segm result must be an RLE {size: [h, w], counts} (pycocotools supports no polygons here)`);
        let R: Rle;
        try {
          R = rleFromJson(s as never);
        } catch (e) {
          return fail(i, (e as Error).message);
        }
        a.area = rleArea(R);
        if (!('bbox' in a)) a.bbox = rleToBbox(R);
        a.id = i + 1;
        a.iscrowd = 0;
      });
    } else if ('keypoints' in first) {
      throw new Error('keypoint results are not supported (only bbox and segm)');
    } else {
      throw new Error(`results[0] has neither a non-empty 'bbox' nor a 'segmentation': cannot tell bbox from segm results`);
    }
    res.dataset.categories = structuredClone(this.dataset.categories ?? []);
    const knownCats = new Set((this.dataset.categories ?? []).map((c) => c.id));
    const unknownCats = new Set(anns.map((a) => a.category_id).filter((c) => !knownCats.has(c)));
    if (unknownCats.size) {
      const n = anns.filter((a) => unknownCats.has(a.category_id)).length;
      warn(`${n} results have category ids not in the ground truth (${describe(unknownCats)}): pycocotools keeps them and COCOeval never scores them`);
    }
    res.dataset.annotations = anns;
    res.createIndex();
    return res;
  }
}
