// `ssmv eval <coco|voc|seg> key=value ...`: offline evaluation of saved predictions.
//   coco: pycocotools' COCOeval (bbox / segm) on an instances file and a results file
//   voc:  PASCAL VOC mAP (11-point or area) on JSON boxes
//   seg:  mIoU / per-class IoU / pixel accuracy on two folders of PNG label maps
// Each evaluator is one entry of EVALUATORS: its keys (typed schema) and its run function.
import { parseArgs, formatHelp, UsageError, type ArgSchema } from './args.ts';
import { closeMatches } from '../core/registry.ts';

interface Evaluator {
  usage: string;
  help: string;
  schema: ArgSchema;
  run(values: Record<string, unknown>, out: (s: string) => void): Promise<number>;
}

const need = (values: Record<string, unknown>, key: string, what: string): string => {
  const v = values[key];
  if (typeof v !== 'string' || !v) throw new UsageError(`${key}= is required (${what})`);
  return v;
};

const EVALUATORS: Record<string, Evaluator> = {
  coco: {
    usage: 'ssmv eval coco gt=<instances.json> dt=<results.json> iou=bbox|segm [--json] [--allow-empty] [--per-class]',
    help: 'COCO AP/AR, the 12 numbers of pycocotools',
    schema: {
      gt: { type: 'string', help: 'ground truth: a COCO instances file' },
      dt: { type: 'string', help: 'results: a list of {image_id, category_id, bbox | segmentation, score}' },
      iou: { type: 'string', default: 'bbox', choices: ['bbox', 'segm'], help: 'IoU type' },
      json: { type: 'boolean', default: false, help: 'print {"stats": [12 numbers], ...} as JSON' },
      allow_empty: { type: 'boolean', default: false, help: 'score an empty results list as no detections (pycocotools fails on it)' },
      per_class: { type: 'boolean', default: false, help: 'also print AP and AP50 per category' },
    },
    async run(values, out) {
      const { evaluateCoco } = await import('../eval/coco/index.ts');
      const warnings: string[] = [];
      const r = evaluateCoco(need(values, 'gt', 'COCO instances JSON'), need(values, 'dt', 'results JSON'), values.iou as 'bbox' | 'segm', {
        allowEmpty: values.allow_empty as boolean,
        onWarning: (m) => warnings.push(m),
      });
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      if (values.json) {
        out(JSON.stringify({ stats: r.stats, iouType: r.iouType, perCategory: r.perCategory, counts: r.counts, warnings: r.warnings }) + '\n');
        return 0;
      }
      out(r.text + '\n');
      if (values.per_class) {
        const fmt = (v: number | null) => (v === null ? '   -  ' : v.toFixed(3).padStart(6));
        out(`\n${'category'.padEnd(24)}     AP   AP50\n`);
        for (const c of r.perCategory) out(`${`${c.name} (${c.id})`.padEnd(24)} ${fmt(c.ap)} ${fmt(c.ap50)}\n`);
      }
      return 0;
    },
  },
  voc: {
    usage: 'ssmv eval voc gt=<gt.json> dt=<dets.json> [metric=area|11point] [iou_thr=0.5] [--json]',
    help: 'PASCAL VOC mAP with difficult objects',
    schema: {
      gt: { type: 'string', help: '{"classes": [names], "images": [{"id", "boxes": [[x1,y1,x2,y2]], "labels": [int], "difficult"?: [bool]}]}' },
      dt: { type: 'string', help: '[{"image_id", "label": int, "box": [x1,y1,x2,y2], "score"}]' },
      metric: { type: 'string', default: 'area', choices: ['area', '11point'], help: 'area (VOC2010+) or 11point (VOC2007)' },
      iou_thr: { type: 'number', default: 0.5, help: 'IoU threshold' },
      inclusive: { type: 'boolean', default: false, help: 'match at IoU >= thr (mmdet) instead of > thr (official devkit)' },
      legacy: { type: 'boolean', default: true, help: 'VOC pixel convention: widths are x2 - x1 + 1' },
      json: { type: 'boolean', default: false, help: 'print the result as JSON' },
    },
    async run(values, out) {
      const { readVocJson } = await import('../eval/voc-io.ts');
      const { vocMap } = await import('../eval/voc-map.ts');
      const { classes, gts, dets } = readVocJson(need(values, 'gt', 'VOC ground-truth JSON'), need(values, 'dt', 'detections JSON'));
      const r = vocMap(dets, gts, {
        numClasses: classes.length,
        classNames: classes,
        metric: values.metric as 'area' | '11point',
        iouThr: values.iou_thr as number,
        inclusiveThreshold: values.inclusive as boolean,
        legacyCoordinates: values.legacy as boolean,
      });
      const perClass = r.perClass.map((c) => ({ name: c.name, ap: c.ap, numGts: c.numGts, numDets: c.numDets, recall: c.recall }));
      if (values.json) {
        out(JSON.stringify({ mAP: r.mAP, metric: r.metric, iouThr: r.iouThr, perClass }) + '\n');
        return 0;
      }
      out(`${'class'.padEnd(16)}   gts   dets  recall     ap\n`);
      for (const c of perClass) {
        out(`${c.name.padEnd(16)} ${String(c.numGts).padStart(5)} ${String(c.numDets).padStart(6)}  ${c.recall.toFixed(3)}  ${c.ap === null ? '   -  ' : c.ap.toFixed(3)}\n`);
      }
      out(`mAP (${r.metric}, IoU ${r.iouThr}) = ${r.mAP.toFixed(4)}\n`);
      return 0;
    },
  },
  seg: {
    usage: 'ssmv eval seg pred=<dir of PNG> gt=<dir of PNG> classes=<n> [ignore_index=255] [--reduce-zero-label] [--json]',
    help: 'semantic segmentation mIoU, per-class IoU, pixel accuracy (mmseg IoUMetric)',
    schema: {
      pred: { type: 'string', help: 'folder of predicted label maps (PNG, class indices)' },
      gt: { type: 'string', help: 'folder of ground-truth label maps, same file names' },
      classes: { type: 'int', help: 'number of classes' },
      names: { type: 'list', help: 'class names, comma-separated (optional)' },
      ignore_index: { type: 'int', default: 255, help: 'label value left out' },
      reduce_zero_label: { type: 'boolean', default: false, help: 'ADE20K: label 0 ignored, others shifted down by one' },
      json: { type: 'boolean', default: false, help: 'print the result as JSON' },
    },
    async run(values, out) {
      const { evaluateSegFolders } = await import('../eval/seg-folders.ts');
      if (values.classes === undefined) throw new UsageError('classes= is required (number of classes)');
      const r = evaluateSegFolders(need(values, 'pred', 'prediction folder'), need(values, 'gt', 'ground-truth folder'), {
        numClasses: values.classes as number,
        ignoreIndex: values.ignore_index as number,
        reduceZeroLabel: values.reduce_zero_label as boolean,
        classNames: values.names as string[] | undefined,
      });
      // JSON has no NaN: classes absent from both maps are null
      const num = (v: number) => (Number.isNaN(v) ? null : v);
      if (values.json) {
        const perClass = r.perClass.map((c) => ({ name: c.name, iou: num(c.iou), acc: num(c.acc), dice: num(c.dice) }));
        out(JSON.stringify({ aAcc: num(r.aAcc), mIoU: num(r.mIoU), mAcc: num(r.mAcc), mDice: num(r.mDice), perClass, images: r.images, pixels: r.pixels }) + '\n');
        return 0;
      }
      const pct = (v: number) => (Number.isNaN(v) ? '   nan' : (v * 100).toFixed(2).padStart(6));
      out(`${'class'.padEnd(16)}    IoU    Acc\n`);
      for (const c of r.perClass) out(`${c.name.padEnd(16)} ${pct(c.iou)} ${pct(c.acc)}\n`);
      out(`aAcc ${pct(r.aAcc)}  mIoU ${pct(r.mIoU)}  mAcc ${pct(r.mAcc)}  (${r.images} images, ${r.pixels} pixels)\n`);
      return 0;
    },
  },
};

export async function run(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  const list = Object.entries(EVALUATORS).map(([k, e]) => `  ${k.padEnd(6)} ${e.help}`).join('\n');
  if (!kind || kind.startsWith('-')) {
    process.stdout.write(`usage: ssmv eval <${Object.keys(EVALUATORS).join('|')}> key=value ... (ssmv eval <kind> --help)\n\n${list}\n`);
    return kind === '--help' || kind === '-h' ? 0 : 2;
  }
  const ev = EVALUATORS[kind];
  if (!ev) {
    const near = closeMatches(kind, Object.keys(EVALUATORS));
    throw new UsageError(`unknown evaluator '${kind}'` + (near.length ? ` (did you mean ${near.join(' or ')}?)` : '') + `; one of ${Object.keys(EVALUATORS).join(', ')}`);
  }
  const args = parseArgs(rest, ev.schema, `eval ${kind}`);
  if (args.help) {
    process.stdout.write(formatHelp(`eval ${kind}`, ev.usage, ev.schema));
    return 0;
  }
  if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}' (keys are key=value)`);
  return ev.run(args.values, (s) => process.stdout.write(s));
}
