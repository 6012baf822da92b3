// JSON files for `ssmv eval voc`: ground truth per image and a flat detection list, checked and turned
// into vocMap's per-image arrays.
//   gt:  {"classes": ["aeroplane", ...], "images": [{"id": "000005", "boxes": [[x1, y1, x2, y2], ...],
//         "labels": [class index, ...], "difficult": [true|false|0|1, ...] (optional)}, ...]}
//   dt:  [{"image_id": "000005", "label": class index, "box": [x1, y1, x2, y2], "score": 0.9}, ...]
import { readJsonFile } from './coco/coco.ts';
import type { VocImageDet, VocImageGt } from './voc-map.ts';

export interface VocFiles {
  classes: string[];
  imageIds: (string | number)[];
  gts: VocImageGt[];
  dets: VocImageDet[];
}

export function parseVoc(gtJson: unknown, dtJson: unknown, names = { gt: 'gt', dt: 'dt' }): VocFiles {
  const g = gtJson as { classes?: unknown; images?: unknown };
  if (typeof g !== 'object' || g === null || !Array.isArray(g.classes) || !Array.isArray(g.images)) {
    throw new Error(`${names.gt}: expected {"classes": [...], "images": [...]}`);
  }
  const classes = g.classes.map(String);
  const imageIds: (string | number)[] = [];
  const index = new Map<string | number, number>();
  const gts = (g.images as Record<string, unknown>[]).map((im, i) => {
    if (typeof im !== 'object' || im === null || !('id' in im)) throw new Error(`${names.gt}: images[${i}] has no id`);
    const id = im.id as string | number;
    if (index.has(id)) throw new Error(`${names.gt}: image id ${JSON.stringify(id)} appears twice`);
    index.set(id, i);
    imageIds.push(id);
    const boxes = (im.boxes ?? []) as number[][];
    const labels = (im.labels ?? []) as number[];
    if (!Array.isArray(boxes) || !Array.isArray(labels)) throw new Error(`${names.gt}: images[${i}] boxes and labels must be lists`);
    const difficult = im.difficult === undefined ? undefined : (im.difficult as (boolean | number)[]);
    return { boxes, labels, difficult };
  });
  if (!Array.isArray(dtJson)) throw new Error(`${names.dt}: expected a list of {image_id, label, box, score}`);
  const dets: VocImageDet[] = gts.map(() => ({ boxes: [], scores: [], labels: [] }));
  dtJson.forEach((d: Record<string, unknown>, k) => {
    if (typeof d !== 'object' || d === null) throw new Error(`${names.dt}[${k}] is not an object`);
    const i = index.get(d.image_id as string | number);
    if (i === undefined) throw new Error(`${names.dt}[${k}]: image_id ${JSON.stringify(d.image_id)} is not in the ground truth`);
    const det = dets[i] as { boxes: number[][]; scores: number[]; labels: number[] };
    det.boxes.push(d.box as number[]);
    det.scores.push(d.score as number);
    det.labels.push(d.label as number);
  });
  return { classes, imageIds, gts, dets };
}

export function readVocJson(gtPath: string, dtPath: string): VocFiles {
  return parseVoc(readJsonFile(gtPath), readJsonFile(dtPath), { gt: gtPath, dt: dtPath });
}
