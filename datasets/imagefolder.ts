// ImageFolder / ImageNet (torchvision ImageFolder, timm ReaderImageFolder): <root>/<split>/<class>/*.
// Class index = position in the sorted class-folder names (torchvision find_classes). A flat split
// (e.g. ImageNet val as distributed) takes its labels from a labels file: one line per image,
// `<file>[,| ]<class name or index>` — the Kaggle `LOC_val_solution.csv` (synset first in the
// prediction string) is read as is; class names come from the train split's folders.
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { DataError, isDir, isFile, isImageFile, listImages, pySorted } from './common.ts';
import { datasets, listOpt, strOpt } from './registry.ts';
import type { Dataset, Sample } from './types.ts';

export interface ImageFolderOptions {
  root: string;
  /** sub-folder of root (default 'train'; the root itself when it has no such folder) */
  split?: string;
  /** labels file for a flat split (default: <split>/labels.txt, <split>/val_labels.txt, <root>/LOC_val_solution.csv) */
  labelsFile?: string;
  /** class names in label order (default: sorted folder names) */
  classes?: string[];
}

async function classFolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return pySorted(entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name));
}

const stem = (f: string) => basename(f, extname(f));

async function readLabels(file: string, classes: string[] | undefined): Promise<{ labels: Map<string, string | number>; names: string[] }> {
  const text = await readFile(file, 'utf8');
  const labels = new Map<string, string | number>();
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/[,\s]+/);
    if (parts.length < 2) throw new DataError(file, `line ${i + 1}`, `expected '<file> <class>', got '${line}'`);
    const [f, c] = parts;
    if (i === 0 && /^(ImageId|file|filename|image)$/i.test(f)) return; // header
    const label: string | number = /^\d+$/.test(c) ? Number(c) : c;
    if (typeof label === 'string') seen.add(label);
    labels.set(stem(f), label);
  });
  return { labels, names: classes ?? pySorted(seen) };
}

export async function openImageFolder(o: ImageFolderOptions): Promise<Dataset> {
  const split = o.split ?? 'train';
  let dir = join(o.root, split);
  if (!(await isDir(dir))) {
    if (o.split === undefined && (await isDir(o.root))) dir = o.root;
    else throw new Error(`imagefolder: split folder '${dir}' does not exist`);
  }
  const folders = await classFolders(dir);
  const samples: Sample[] = [];
  let classes: string[];
  const meta: Record<string, unknown> = { layout: folders.length ? 'class-folders' : 'flat' };
  if (folders.length) {
    classes = o.classes ?? folders;
    const index = new Map(classes.map((c, i) => [c, i]));
    for (const folder of folders) {
      const label = index.get(folder);
      if (label === undefined) throw new Error(`imagefolder: folder '${join(dir, folder)}' is not among the ${classes.length} given classes`);
      for (const file of await listImages(join(dir, folder))) samples.push({ index: samples.length, file, id: samples.length, target: { kind: 'class', label } });
    }
  } else {
    const candidates = o.labelsFile ? [o.labelsFile] : [join(dir, 'labels.txt'), join(dir, 'val_labels.txt'), join(o.root, 'LOC_val_solution.csv')];
    let labelsFile: string | undefined;
    for (const c of candidates) if (await isFile(c)) {
      labelsFile = c;
      break;
    }
    if (!labelsFile) throw new Error(`imagefolder: '${dir}' has no class folders and no labels file (looked for ${candidates.join(', ')})`);
    // class names: given, else the train split's folders (ImageNet val uses train's synsets)
    let names = o.classes;
    if (!names && split !== 'train' && (await isDir(join(o.root, 'train')))) {
      const train = await classFolders(join(o.root, 'train'));
      if (train.length) names = train;
    }
    const { labels, names: classNames } = await readLabels(labelsFile, names);
    classes = classNames;
    const index = new Map(classes.map((c, i) => [c, i]));
    const files = (await readdir(dir)).filter(isImageFile);
    let unlabelled = 0;
    for (const f of pySorted(files)) {
      const l = labels.get(stem(f));
      if (l === undefined) {
        unlabelled++;
        continue;
      }
      let label: number;
      if (typeof l === 'number') {
        if (l >= classes.length) throw new DataError(labelsFile, stem(f), `class index ${l} is out of range for ${classes.length} classes`);
        label = l;
      } else {
        const k = index.get(l);
        if (k === undefined) throw new DataError(labelsFile, stem(f), `class '${l}' is not among the ${classes.length} classes`);
        label = k;
      }
      samples.push({ index: samples.length, file: join(dir, f), id: samples.length, target: { kind: 'class', label } });
    }
    Object.assign(meta, { labelsFile, unlabelled });
  }
  if (!samples.length) throw new Error(`imagefolder: no images found under '${dir}'`);
  return { name: 'imagefolder', task: 'classify', root: o.root, split, classes, samples, meta };
}

datasets.register('imagefolder', {
  description: 'ImageNet-style class folders (<root>/<split>/<class>/*), or a flat split with a labels file',
  task: 'classify',
  options: {
    root: 'dataset root (holds train/, val/)',
    split: "sub-folder (default 'train')",
    labelsFile: 'labels file of a flat split',
    classes: 'class names in label order (default: sorted folder names)',
  },
  open: (o) =>
    openImageFolder({
      root: strOpt('imagefolder', o, 'root'),
      split: o.split === undefined ? undefined : strOpt('imagefolder', o, 'split'),
      labelsFile: o.labelsFile === undefined ? undefined : strOpt('imagefolder', o, 'labelsFile'),
      classes: listOpt('imagefolder', o, 'classes'),
    }),
});
