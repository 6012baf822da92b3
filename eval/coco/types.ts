// COCO JSON types (instances files and result files), as read by pycocotools' COCO class.
// Ids are numbers in COCO; strings are accepted where pycocotools would accept them (dict keys).
import type { RleJson } from './rle.ts';

export type Id = number | string;

export interface CocoImage {
  id: Id;
  width: number;
  height: number;
  file_name?: string;
  [k: string]: unknown;
}

export interface CocoCategory {
  id: Id;
  name: string;
  supercategory?: string;
  [k: string]: unknown;
}

export interface CocoAnnotation {
  id: Id;
  image_id: Id;
  category_id: Id;
  /** [x, y, w, h], top-left corner, pixels */
  bbox?: number[];
  area?: number;
  iscrowd?: number | boolean;
  /** polygons [[x1, y1, x2, y2, ...], ...] or RLE {size: [h, w], counts} */
  segmentation?: number[][] | RleJson;
  /** results only */
  score?: number;
  [k: string]: unknown;
}

export interface CocoDataset {
  info?: unknown;
  licenses?: unknown[];
  images?: CocoImage[];
  annotations?: CocoAnnotation[];
  categories?: CocoCategory[];
  [k: string]: unknown;
}

/** One detection in a results file: `bbox` for iouType bbox, `segmentation` (compressed RLE) for segm. */
export interface CocoResult {
  image_id: Id;
  category_id: Id;
  score: number;
  bbox?: number[];
  segmentation?: RleJson;
  [k: string]: unknown;
}
