// Inference of a YOLO model on image files (ultralytics/engine/predictor.py, models/yolo/detect/
// predict.py): LetterBox with auto padding (the long side fitted to imgsz, each side padded only up
// to a multiple of 32, fill 114), forward, NMS (conf 0.25, iou 0.7, best class per box, max_det 300)
// on the read-back predictions, boxes scaled back to the source image; and the drawing of the result
// (core/plot: a box per detection and a "name 0.87" label in the class colour).
import { tf } from '../../core/tf.ts';
import { readBytes, imageSize, decodeRgb } from '../../datasets/io/decode.ts';
import { letterbox } from '../../datasets/transforms/geometry.ts';
import { Canvas } from '../../core/plot/canvas.ts';
import { seriesColor } from '../../core/plot/color.ts';
import { textWidth } from '../../core/plot/font.ts';
import type { Affine, RgbImage } from '../../datasets/types.ts';
import type { MambaYOLO } from '../../backbones/mamba-yolo.ts';
import { nonMaxSuppression, toSourceBoxes, NMS_PREDICT, type NmsOptions } from './nms.ts';

export interface LetterboxedImage {
  /** (H, W, 3) in [0, 1] */
  input: Float32Array;
  height: number;
  width: number;
  map: Affine;
  source: RgbImage;
}

/** LetterBox(auto=True, stride 32): scale r = min(imgsz / h, imgsz / w), pad each side to a multiple of 32 */
export async function letterboxFile(file: string, imgsz: number, stride = 32): Promise<LetterboxedImage> {
  const buf = await readBytes(file);
  const { width: w, height: h } = await imageSize(buf, file);
  const r = Math.min(imgsz / h, imgsz / w);
  const nw = Math.round(w * r), nh = Math.round(h * r);
  const W = nw + ((imgsz - nw) % stride), H = nh + ((imgsz - nh) % stride);
  const lb = letterbox(w, h, W, H);
  const [source, resized] = await Promise.all([decodeRgb(buf, file), decodeRgb(buf, file, { resize: { width: lb.newW, height: lb.newH, fit: 'fill', interpolation: 'bilinear' } })]);
  const input = new Float32Array(H * W * 3).fill(114 / 255);
  for (let y = 0; y < lb.newH; y++) {
    for (let x = 0; x < lb.newW; x++) {
      const o = ((y + lb.top) * W + x + lb.left) * 3, i = (y * lb.newW + x) * 3;
      input[o] = resized.data[i] / 255;
      input[o + 1] = resized.data[i + 1] / 255;
      input[o + 2] = resized.data[i + 2] / 255;
    }
  }
  return { input, height: H, width: W, map: lb.map, source };
}

export interface Detection {
  class: number;
  name: string;
  confidence: number;
  /** source-image pixels */
  box: { x1: number; y1: number; x2: number; y2: number };
}

export interface ImagePrediction {
  image: string;
  width: number;
  height: number;
  detections: Detection[];
  source: RgbImage;
}

export async function predictFile(model: MambaYOLO, file: string, imgsz: number, nms: Partial<NmsOptions> = {}): Promise<ImagePrediction> {
  const lb = await letterboxFile(file, imgsz);
  const x = tf.tensor4d(lb.input, [1, lb.height, lb.width, 3]);
  const y = model.forward(x);
  const pred = await y.data(); // GPU->CPU sync: the image's predictions, read once for NMS
  const A = y.shape[1] as number;
  tf.dispose([x, y]);
  const det = nonMaxSuppression(pred, A, model.numClasses, { ...NMS_PREDICT, ...nms });
  const { width, height } = lb.source;
  toSourceBoxes(det.boxes, lb.map, width, height);
  const detections: Detection[] = [];
  for (let k = 0; k < det.count; k++) {
    const [x1, y1, x2, y2] = det.boxes.subarray(4 * k, 4 * k + 4);
    const c = det.classes[k];
    detections.push({ class: c, name: model.names[c] ?? String(c), confidence: det.scores[k], box: { x1, y1, x2, y2 } });
  }
  return { image: file, width, height, detections, source: lb.source };
}

/** The source image with boxes and labels drawn (ultralytics' Annotator: line width ~ 0.3% of the image). */
export function drawDetections(img: RgbImage, detections: readonly Detection[]): Canvas {
  const c = new Canvas(img.width, img.height);
  for (let i = 0, p = 0; i < img.width * img.height; i++, p += 3) c.data.set([img.data[p], img.data[p + 1], img.data[p + 2], 255], i * 4);
  const lw = Math.max(Math.round(((img.width + img.height) / 2) * 0.003), 2);
  const scale = Math.max(1, Math.round(lw / 2));
  for (const d of detections) {
    const color = seriesColor(d.class);
    const { x1, y1, x2, y2 } = d.box;
    c.strokeRect(x1, y1, x2 - x1, y2 - y1, color, lw);
    const label = `${d.name} ${d.confidence.toFixed(2)}`;
    const tw = textWidth(label, scale) + 2 * scale, th = 9 * scale;
    const above = y1 - th >= 0;
    const ty = above ? y1 - th : y1;
    c.fillRect(x1, ty, tw, th, color);
    c.text(x1 + scale, ty + scale, label, 'white', { scale });
  }
  return c;
}
