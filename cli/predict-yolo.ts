// `ssmv predict model=mamba_yolo_t weights=<file> source=<images or folders> [conf=0.25 iou=0.7 imgsz=640]`:
// detection with a Mamba-YOLO model (cli/predict.ts sends model=mamba_yolo_* here). Writes
// <project>/<name>/ (runs/detect/predict, predict2, ...): each image with its boxes and labels drawn
// (same file name; JPEG for JPEG sources, PNG otherwise) and predictions.json (every detection in
// source pixels). Weights: an ssmv checkpoint (its EMA weights), a safetensors file, or an official
// ultralytics / Mamba-YOLO .pt (see README "YOLO").
import { writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs, formatHelp, UsageError, type ArgSchema } from './args.ts';
import { setBackend, BACKEND_NAMES } from '../core/backend.ts';
import { createModel } from '../backbones/index.ts';
import { withoutInit } from '../core/nn/init.ts';
import { isMambaYolo, type MambaYOLO } from '../backbones/mamba-yolo.ts';
import { readYoloWeights } from '../backbones/mamba-yolo-import.ts';
import { isDir, isImageFile, listImages } from '../datasets/common.ts';
import { encodeJpeg } from '../datasets/io/decode.ts';
import { encodePng } from '../core/plot/png.ts';
import { incrementRunDir } from '../train/run-dir.ts';
import { drawDetections, predictFile } from '../heads/yolo/predict.ts';

const SCHEMA: ArgSchema = {
  model: { type: 'string', help: 'mamba_yolo_t | mamba_yolo_b | mamba_yolo_l | test_mamba_yolo (default: from the weights)' },
  weights: { type: 'string', help: 'ssmv checkpoint (runs/detect/train/weights/best), .safetensors, or an ultralytics .pt' },
  source: { type: 'list', help: 'images and/or folders of images (comma-separated; positional arguments also work)' },
  task: { type: 'string', default: 'detect', choices: ['detect'], help: 'task' },
  imgsz: { type: 'int', default: 640, help: 'inference size (long side; padded to a multiple of 32)' },
  conf: { type: 'number', default: 0.25, help: 'confidence threshold' },
  iou: { type: 'number', default: 0.7, help: 'NMS IoU threshold' },
  max_det: { type: 'int', default: 300, help: 'detections per image' },
  agnostic_nms: { type: 'boolean', default: false, help: 'class-agnostic NMS' },
  classes: { type: 'list', help: 'keep only these class indices' },
  save: { type: 'boolean', default: true, help: 'write the annotated images' },
  project: { type: 'string', default: 'runs/detect', help: 'parent folder of the output' },
  name: { type: 'string', default: 'predict', help: 'output folder (predict, predict2, ... unless exist_ok)' },
  exist_ok: { type: 'boolean', default: false, help: 'reuse <project>/<name>' },
  backend: { type: 'string', default: 'auto', choices: BACKEND_NAMES, help: 'tensor backend' },
  json: { type: 'boolean', default: false, help: 'print the detections as JSON' },
};

/** `ssmv predict` for detection: model=mamba_yolo_* or task=detect */
export function isYoloPredict(argv: readonly string[]): boolean {
  return argv.some((a) => {
    const m = /^(?:--)?(model|task)[=](.+)$/.exec(a);
    return !!m && (m[1] === 'model' ? isMambaYolo(m[2]) : m[2] === 'detect');
  }) || argv.some((a, i) => (a === '--model' && isMambaYolo(argv[i + 1] ?? '')) || (a === '--task' && argv[i + 1] === 'detect'));
}

/** nc (and the Mamba-YOLO scale) from the state dict when the file does not say: T/B/L by the stem width */
function modelFromWeights(sd: Map<string, { shape: number[] }>): string {
  const w = sd.get('model.0.conv.3.weight')?.shape[0];
  const byWidth: Record<number, string> = { 32: 'mamba_yolo_t', 64: 'mamba_yolo_b', 96: 'mamba_yolo_l', 8: 'test_mamba_yolo' };
  if (w === undefined || !byWidth[w]) throw new UsageError(`cannot tell which Mamba-YOLO these weights are for (stem width ${w ?? 'unknown'}): give model=`);
  return byWidth[w];
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SCHEMA, 'predict');
  if (args.help) {
    process.stdout.write(formatHelp('predict', 'ssmv predict model=mamba_yolo_t weights=<file> source=<images or folders> [key=value ...]', SCHEMA));
    return 0;
  }
  const v = args.values;
  const weights = v.weights as string | undefined;
  if (!weights) throw new UsageError('give weights=<file>: an ssmv checkpoint (runs/detect/train/weights/best), .safetensors or an ultralytics .pt');
  const sources = [...((v.source as string[] | undefined) ?? []), ...args.positionals];
  if (!sources.length) throw new UsageError('give source=<image, folder, ...>');
  const files: string[] = [];
  for (const s of sources) {
    if (await isDir(s)) files.push(...(await listImages(s)));
    else if (isImageFile(s)) files.push(s);
    else throw new UsageError(`source: '${s}' is neither an image (${['.jpg', '.png', '...'].join(', ')}) nor a folder`);
  }
  if (!files.length) throw new UsageError(`source: no images in ${sources.join(', ')}`);
  await setBackend(v.backend as string);
  const w = readYoloWeights(weights);
  const name = (v.model as string | undefined) ?? w.model ?? modelFromWeights(w.stateDict);
  if (!isMambaYolo(name)) throw new UsageError(`model: '${name}' is not a Mamba-YOLO model`);
  const model = withoutInit(() => createModel(name, w.config)) as unknown as MambaYOLO;
  try {
    model.loadStateDict(w.stateDict, { strict: true });
  } catch (e) {
    model.dispose();
    throw new Error(`weights: '${weights}' (${w.source}) do not fit ${name}: ${(e as Error).message}`);
  }
  model.eval();
  const dir = v.save ? incrementRunDir(v.project as string, v.name as string, v.exist_ok as boolean) : '';
  const nms = { conf: v.conf as number, iou: v.iou as number, maxDet: v.max_det as number, agnostic: v.agnostic_nms as boolean, classes: (v.classes as string[] | undefined)?.map(Number) };
  const results = [];
  for (const file of files) {
    const t0 = performance.now();
    const r = await predictFile(model, file, v.imgsz as number, nms);
    const ms = performance.now() - t0;
    if (dir) {
      const canvas = drawDetections(r.source, r.detections);
      const jpeg = /\.jpe?g$/i.test(file);
      const out = join(dir, jpeg ? basename(file) : `${basename(file, extname(file))}.png`);
      if (jpeg) {
        const rgb = new Uint8Array(canvas.width * canvas.height * 3);
        for (let i = 0; i < canvas.width * canvas.height; i++) rgb.set(canvas.data.subarray(i * 4, i * 4 + 3), i * 3);
        writeFileSync(out, await encodeJpeg({ data: rgb, width: canvas.width, height: canvas.height }, 95));
      } else writeFileSync(out, encodePng(canvas));
    }
    const counts = new Map<string, number>();
    for (const d of r.detections) counts.set(d.name, (counts.get(d.name) ?? 0) + 1);
    if (!v.json) process.stdout.write(`${file}: ${r.width}x${r.height} ${r.detections.length ? [...counts].map(([k, n]) => `${n} ${k}`).join(', ') : '(no detections)'}, ${ms.toFixed(1)} ms\n`);
    results.push({ image: r.image, width: r.width, height: r.height, detections: r.detections.map((d) => ({ ...d, confidence: +d.confidence.toFixed(5), box: Object.fromEntries(Object.entries(d.box).map(([k, x]) => [k, +x.toFixed(2)])) })) });
  }
  if (dir) {
    writeFileSync(join(dir, 'predictions.json'), JSON.stringify({ model: name, weights, imgsz: v.imgsz, conf: nms.conf, iou: nms.iou, images: results }, null, 1) + '\n');
    process.stdout.write(`results saved to ${dir} (annotated images, predictions.json)\n`);
  }
  if (v.json) process.stdout.write(JSON.stringify(results, null, 1) + '\n');
  model.dispose();
  return 0;
}
