// COCOeval parameters (cocoapi `PythonAPI/pycocotools/cocoeval.py` class Params, @ 8c9bcc3), bbox/segm only.
// The thresholds are built with numpy's linspace arithmetic (i*step + start, last = stop) so that they are
// the very same doubles: IoU ties at a threshold and the recall search depend on them.
import type { Id } from './types.ts';

export type IouType = 'bbox' | 'segm';

/** numpy.linspace(start, stop, num) with endpoint=True, bit for bit. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const y = new Float64Array(num);
  const div = num - 1;
  const step = (stop - start) / div;
  for (let i = 0; i < num; i++) y[i] = i * step + start;
  if (num > 1) y[num - 1] = stop;
  return y;
}

export class Params {
  imgIds: Id[] = [];
  catIds: Id[] = [];
  /** .50:.05:.95 (T = 10) */
  iouThrs = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
  /** 0:.01:1 (R = 101) */
  recThrs = linspace(0.0, 1.0, Math.round((1.0 - 0.0) / 0.01) + 1);
  maxDets = [1, 10, 100];
  areaRng: [number, number][] = [
    [0 ** 2, 1e5 ** 2],
    [0 ** 2, 32 ** 2],
    [32 ** 2, 96 ** 2],
    [96 ** 2, 1e5 ** 2],
  ];
  areaRngLbl = ['all', 'small', 'medium', 'large'];
  /** false: categories are ignored (all detections match all ground truths), as in proposal scoring */
  useCats = true;
  constructor(public iouType: IouType = 'segm') {
    if (iouType !== 'bbox' && iouType !== 'segm') {
      throw new Error(`iouType '${iouType}' not supported (bbox or segm; keypoints are not ported)`);
    }
  }
}
