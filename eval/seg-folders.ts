// `ssmv eval seg`: score a folder of predicted label maps against a folder of ground-truth label maps
// (PNG, grayscale or palette: read as class indices), paired by file name without extension.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, parse } from 'node:path';
import { decodeIndexPng } from '../datasets/io/png.ts';
import { SegMetric, type SegMetricOptions, type SegMetricResult } from './seg-metrics.ts';

const pngStems = (dir: string): Map<string, string> => {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`cannot list ${dir}: ${(e as Error).message}`);
  }
  return new Map(names.filter((n) => n.toLowerCase().endsWith('.png')).map((n) => [parse(n).name, join(dir, n)]));
};

/** Every ground-truth map needs a prediction of the same size; extra predictions are an error too. */
export function evaluateSegFolders(predDir: string, gtDir: string, opts: SegMetricOptions): SegMetricResult & { images: number } {
  const preds = pngStems(predDir);
  const gts = pngStems(gtDir);
  if (gts.size === 0) throw new Error(`no .png label maps in ${gtDir}`);
  const missing = [...gts.keys()].filter((k) => !preds.has(k));
  if (missing.length) throw new Error(`${missing.length} ground-truth maps have no prediction in ${predDir} (e.g. ${missing.slice(0, 3).join(', ')})`);
  const extra = [...preds.keys()].filter((k) => !gts.has(k));
  if (extra.length) throw new Error(`${extra.length} predictions have no ground truth in ${gtDir} (e.g. ${extra.slice(0, 3).join(', ')})`);
  const metric = new SegMetric(opts);
  for (const [stem, gtPath] of [...gts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const predPath = preds.get(stem) as string;
    const g = decodeIndexPng(readFileSync(gtPath), gtPath);
    const p = decodeIndexPng(readFileSync(predPath), predPath);
    if (g.width !== p.width || g.height !== p.height) {
      throw new Error(`${predPath} is ${p.width}x${p.height} but its ground truth ${gtPath} is ${g.width}x${g.height}`);
    }
    metric.update(p.data, g.data);
  }
  return { ...metric.compute(), images: gts.size };
}
