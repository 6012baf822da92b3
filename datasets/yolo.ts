// Ultralytics-style detection datasets described by a YAML file (ultralytics/data/utils.py
// check_det_dataset, img2label_paths; ultralytics/data/dataset.py verify_image_label):
//   path: root; train/val/test: a folder, a .txt list of images or a list of those; names: list or
//   {0: name}; nc optional. Labels: one labels/.../<stem>.txt per image (`/images/` -> `/labels/`),
//   lines `class cx cy w h` (normalised) or `class x1 y1 x2 y2 ...` (a polygon). An image without
//   a label file is a background image. A relative `path` is resolved against the YAML's folder
//   (ultralytics resolves it against its settings' datasets_dir).
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, resolve, sep } from 'node:path';
import { DataError, isDir, isFile, isImageFile, listImages } from './common.ts';
import { parseYaml, type YamlValue } from './io/yaml.ts';
import { datasets, strOpt } from './registry.ts';
import type { BoxTarget, Dataset, Sample } from './types.ts';

export interface YoloOptions {
  /** dataset YAML */
  data: string;
  /** 'train' | 'val' | 'test' (default 'train') */
  split?: string;
}

export interface YoloDataYaml {
  root: string;
  names: string[];
  splits: Record<string, string[] | undefined>;
  raw: { [key: string]: YamlValue };
}

/** check_det_dataset: resolves the root and split entries, normalises `names` to a list. */
export async function readDataYaml(file: string): Promise<YoloDataYaml> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`yolo: cannot read '${file}': ${(e as Error).message}`);
  }
  const data = parseYaml(text, file);
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new DataError(file, '', 'a dataset YAML must be a mapping (path, train, val, names)');
  const d = data as { [key: string]: YamlValue };
  const yamlDir = dirname(resolve(file));
  let root = yamlDir;
  if (d.path != null) {
    if (typeof d.path !== 'string') throw new DataError(file, 'path', 'must be a string');
    root = isAbsolute(d.path) ? d.path : resolve(yamlDir, d.path);
    if (!(await isDir(root)) && !isAbsolute(d.path) && (await isDir(resolve(d.path)))) root = resolve(d.path);
  }
  // names: list or {int: name}; keys must be 0..n-1 (check_class_names)
  let names: string[];
  if (Array.isArray(d.names)) names = d.names.map(String);
  else if (d.names && typeof d.names === 'object') {
    const entries = Object.entries(d.names);
    names = new Array(entries.length);
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= entries.length) throw new DataError(file, `names.${k}`, `class indices must be 0..${entries.length - 1}`);
      names[i] = String(v);
    }
  } else if (d.names === undefined && Number.isInteger(d.nc)) names = Array.from({ length: d.nc as number }, (_, i) => `class_${i}`);
  else throw new DataError(file, 'names', "missing: give 'names' (a list or {0: name, ...})");
  if (d.nc !== undefined && d.nc !== names.length) throw new DataError(file, 'nc', `nc is ${JSON.stringify(d.nc)} but names has ${names.length} entries`);
  const splits: Record<string, string[] | undefined> = {};
  for (const k of ['train', 'val', 'test', 'minival']) {
    const v = d[k];
    if (v == null) continue;
    const list = Array.isArray(v) ? v : [v];
    splits[k] = await Promise.all(
      list.map(async (x, i) => {
        if (typeof x !== 'string') throw new DataError(file, Array.isArray(v) ? `${k}[${i}]` : k, 'must be a path');
        let p = isAbsolute(x) ? x : resolve(root, x);
        if (!(await isDir(p)) && !(await isFile(p)) && x.startsWith('../')) p = resolve(root, x.slice(3));
        return p;
      }),
    );
  }
  return { root, names, splits, raw: d };
}

/** img2label_paths: the last `/images/` becomes `/labels/`, the extension `.txt`. */
export function labelPath(img: string): string {
  const a = `${sep}images${sep}`, b = `${sep}labels${sep}`;
  const k = img.lastIndexOf(a);
  const swapped = k >= 0 ? img.slice(0, k) + b + img.slice(k + a.length) : img;
  return swapped.slice(0, swapped.length - extname(swapped).length) + '.txt';
}

async function imagesOf(source: string, yamlFile: string, field: string): Promise<string[]> {
  if (await isDir(source)) return listImages(source);
  if (await isFile(source)) {
    if (extname(source).toLowerCase() === '.txt') {
      const lines = (await readFile(source, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
      return lines.filter(isImageFile).map((l) => (isAbsolute(l) ? l : resolve(dirname(source), l)));
    }
    if (isImageFile(source)) return [source];
  }
  throw new DataError(yamlFile, field, `'${source}' does not exist`);
}

/** Parses one label file (verify_image_label): normalised boxes or polygons, class ids checked. */
export function parseLabelFile(text: string, file: string, nc: number): BoxTarget {
  const t: BoxTarget = { kind: 'boxes', boxes: [], classes: [], normalized: true, polygons: [] };
  let anyPoly = false;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const v = line.split(/\s+/).map(Number);
    const where = `line ${i + 1}`;
    if (v.some((x) => !Number.isFinite(x))) throw new DataError(file, where, `not numbers: '${line}'`);
    const cls = v[0];
    if (!Number.isInteger(cls) || cls < 0) throw new DataError(file, where, `class id must be a non-negative integer, got ${cls}`);
    if (cls >= nc) throw new DataError(file, where, `class id ${cls} exceeds the dataset's ${nc} classes`);
    const c = v.slice(1);
    if (c.some((x) => x < 0 || x > 1)) throw new DataError(file, where, `coordinates must be normalised to [0, 1]: '${line}'`);
    if (c.length === 4) {
      const [cx, cy, w, h] = c;
      t.boxes.push(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
      t.polygons!.push(null);
    } else if (c.length >= 6 && c.length % 2 === 0) {
      let x1 = 1, y1 = 1, x2 = 0, y2 = 0;
      for (let k = 0; k < c.length; k += 2) {
        x1 = Math.min(x1, c[k]);
        x2 = Math.max(x2, c[k]);
        y1 = Math.min(y1, c[k + 1]);
        y2 = Math.max(y2, c[k + 1]);
      }
      t.boxes.push(x1, y1, x2, y2);
      t.polygons!.push([c]);
      anyPoly = true;
    } else throw new DataError(file, where, `expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...', got ${c.length} coordinates`);
    t.classes.push(cls);
  });
  if (!anyPoly) delete t.polygons;
  return t;
}

export async function openYolo(o: YoloOptions): Promise<Dataset> {
  const split = o.split ?? 'train';
  const y = await readDataYaml(o.data);
  const sources = y.splits[split];
  if (!sources) throw new DataError(o.data, split, `no '${split}' entry (has: ${Object.keys(y.splits).join(', ') || 'none'})`);
  const files: string[] = [];
  for (const [i, s] of sources.entries()) files.push(...(await imagesOf(s, o.data, sources.length > 1 ? `${split}[${i}]` : split)));
  let background = 0;
  const targets = await Promise.all(
    files.map(async (img) => {
      const lf = labelPath(img);
      let text: string;
      try {
        text = await readFile(lf, 'utf8');
      } catch {
        background++;
        return { kind: 'boxes', boxes: [], classes: [], normalized: true } as BoxTarget;
      }
      return parseLabelFile(text, lf, y.names.length);
    }),
  );
  const samples: Sample[] = files.map((file, i) => ({ index: i, file, id: i, target: targets[i] }));
  if (!samples.length) throw new Error(`yolo: no images for split '${split}' in ${sources.join(', ')}`);
  return { name: 'yolo', task: 'detect', root: y.root, split, classes: y.names, samples, meta: { yaml: o.data, backgroundImages: background } };
}

datasets.register('yolo', {
  description: 'ultralytics dataset YAML (path, train, val, names) with labels/*.txt (boxes or polygons, normalised)',
  task: 'detect',
  options: { data: 'dataset YAML file', split: "'train' (default), 'val' or 'test'" },
  open: (o) => openYolo({ data: strOpt('yolo', o, 'data'), split: o.split === undefined ? undefined : strOpt('yolo', o, 'split') }),
});
