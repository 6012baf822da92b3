// Data types shared by the dataset loaders, the transform pipelines, the worker pool and the loader.
// Everything a worker receives or returns is structured-cloneable (plain objects, arrays, typed
// arrays), so a sample record crosses a worker boundary unchanged.

export type Task = 'classify' | 'detect' | 'segment';

/** COCO run-length encoding, column-major as pycocotools: counts alternate 0-runs and 1-runs. */
export interface Rle {
  size: [number, number]; // [h, w]
  counts: number[] | string; // uncompressed counts, or the compressed string form
}

/** Per-instance annotations of one image, in the source image's pixel coordinates (or normalised). */
export interface BoxTarget {
  kind: 'boxes';
  /** (N*4) x1 y1 x2 y2, continuous pixel coordinates (pixel k spans [k, k+1]) */
  boxes: number[];
  /** (N) contiguous class labels 0..C-1 */
  classes: number[];
  /** coordinates are fractions of the image size (YOLO labels); converted once the image is decoded */
  normalized?: boolean;
  iscrowd?: number[];
  difficult?: number[];
  /** per instance: polygons, each a flat [x0, y0, x1, y1, ...] ring; null where the instance has none */
  polygons?: (number[][] | null)[];
  /** per instance: RLE mask (COCO crowd regions), null where the instance has none */
  rles?: (Rle | null)[];
}

export type Target =
  | { kind: 'class'; label: number }
  | BoxTarget
  | {
      kind: 'mask';
      /** PNG (or other) file of class indices, same size as the image */
      file: string;
      /** ADE20K: 0 ("other") becomes ignore, every other label moves down by one (mmseg) */
      reduceZeroLabel: boolean;
      ignoreIndex: number;
    };

/** One dataset entry: an image file and its annotation. */
export interface Sample {
  /** position in `Dataset.samples` */
  index: number;
  /** absolute path of the image */
  file: string;
  /** the dataset's own id (COCO image id, VOC file id, ...) */
  id: number | string;
  target: Target;
  /** source size when the annotation file gives it (COCO, VOC) */
  width?: number;
  height?: number;
}

export interface Dataset {
  /** registered loader name */
  readonly name: string;
  readonly task: Task;
  readonly root: string;
  readonly split: string;
  /** class names by contiguous label */
  readonly classes: readonly string[];
  readonly samples: readonly Sample[];
  /** loader-specific facts: COCO category ids by label, annotation file, counts of dropped boxes ... */
  readonly meta: Readonly<Record<string, unknown>>;
}

/** Axis-aligned map from source pixel coordinates to output coordinates: out = s * src + t. */
export interface Affine {
  sx: number;
  sy: number;
  tx: number;
  ty: number;
}

/** One transformed sample, as a worker returns it. */
export interface Item {
  index: number;
  /** (H, W, 3) normalised float image */
  image: Float32Array;
  height: number;
  width: number;
  label?: number;
  /** (N*4) x1 y1 x2 y2 in output pixels */
  boxes?: Float32Array;
  classes?: Int32Array;
  iscrowd?: Uint8Array;
  difficult?: Uint8Array;
  /** per kept instance: polygons in output pixels */
  polygons?: (number[][] | null)[];
  /** (N, H, W) instance masks, only when the pipeline asks for them */
  instanceMasks?: Uint8Array;
  /** (H, W) class indices; ignore index where unlabelled or padded */
  mask?: Uint8Array;
  /** source size [h, w] and the map source -> output (letterbox/resize), for evaluation */
  sourceSize?: [number, number];
  affine?: Affine;
}

/** Per-image facts kept in a batch (for evaluation and logging). */
export interface BatchInfo {
  index: number;
  id: number | string;
  file: string;
  sourceSize?: [number, number];
  affine?: Affine;
}

/**
 * A collated batch: images as one NHWC Float32Array; targets flat. Conversion to tf tensors is
 * the trainer's job (`toTensors` in datasets/tensors.ts).
 */
export interface Batch {
  /** (B, H, W, 3) */
  images: Float32Array;
  shape: [number, number, number, number];
  info: BatchInfo[];
  /** (B) class labels (classification) */
  labels?: Int32Array;
  /** (B, numClasses) soft targets after Mixup/CutMix/label smoothing */
  targets?: Float32Array;
  numClasses?: number;
  /** (M*4) x1 y1 x2 y2 output pixels of every box in the batch (ultralytics' flat layout) */
  boxes?: Float32Array;
  /** (M) */
  boxClasses?: Int32Array;
  /** (M) which image of the batch each box belongs to */
  boxBatchIndex?: Int32Array;
  iscrowd?: Uint8Array;
  difficult?: Uint8Array;
  /** (M, H, W) instance masks when the pipeline produces them */
  instanceMasks?: Uint8Array;
  /** (B, H, W) semantic class indices */
  masks?: Uint8Array;
  /** sample indices of this batch that could not be loaded (skipped) */
  skipped: number[];
}

/** 8-bit interleaved RGB image, (H, W, 3). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}
