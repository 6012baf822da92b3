// The CLI of training: --help, "did you mean", typed values, bad input (missing data folder, empty
// class folder, batch larger than the dataset, weights of another model: a clear message and no run
// directory), `ssmv val --json`, and Ctrl-C on a real process (checkpoint saved, exit 130); a second
// Ctrl-C exits at once.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setBackend } from '../core/backend.ts';
import { manualSeed } from '../core/rng.ts';
import { createModel } from '../backbones/index.ts';
import { writeSafetensors } from '../core/io/safetensors.ts';
import { writeSynthetic } from '../datasets/synth/write.ts';
import { run as trainCli } from '../cli/train.ts';
import { run as valCli } from '../cli/val.ts';
import { main } from '../cli/main.ts';
import { InterruptCallback } from '../train/callbacks/interrupt.ts';
import type { Trainer } from '../train/trainer.ts';

const root = mkdtempSync(join(tmpdir(), 'ssmv-train-cli-'));
const data = join(root, 'shapes');
const project = join(root, 'runs');
const repo = fileURLToPath(new URL('..', import.meta.url));

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const w = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  let out = '', err = '';
  process.stdout.write = ((s: string) => { out += s; return true }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err += s; return true }) as typeof process.stderr.write;
  try {
    return { code: await fn(), out, err };
  } finally {
    process.stdout.write = w.out;
    process.stderr.write = w.err;
  }
}

test.before(async () => {
  await setBackend('cpu');
  await writeSynthetic({ task: 'classify', out: data, n: 40, size: 16, classes: 2, seed: 0 });
});

const common = ['model=test_vmamba', 'backend=cpu', 'imgsz=16', 'workers=0', `project=${project}`];
const noRuns = () => !existsSync(project) || readdirSync(project).length === 0;

test.serial('--help lists every key with type and default; unknown keys and wrong types are named', async (t) => {
  const h = await capture(() => trainCli(['--help']));
  t.is(h.code, 0);
  t.regex(h.out, /^ {2}epochs {17}int {12}epochs \(default 300\)$/m);
  t.regex(h.out, /^ {2}optimizer {14}adamw\|sgd {6}optimizer \(default "adamw"\)$/m);
  t.regex(h.out, /^ {2}model_ema_decay {8}number {9}EMA decay \(default 0.9999\)$/m);
  const u = await capture(() => main(['train', 'epoch=3']));
  t.is(u.code, 2);
  t.regex(u.err, /unknown key 'epoch' for ssmv train \(did you mean epochs/);
  const w = await capture(() => main(['train', 'epochs=three']));
  t.is(w.code, 2);
  t.regex(w.err, /epochs: expected an integer, got 'three'/);
  const v = await capture(() => main(['train', 'smoothing=1.5']));
  t.regex(v.err, /smoothing: must be in \[0, 1\), got 1.5/);
  t.regex((await capture(() => main(['val', '--hlep']))).err, /unknown key '--hlep'|unknown key 'hlep'/);
});

test.serial('bad input: missing data folder, empty class folder, batch larger than the dataset: clear message, no run directory', async (t) => {
  await t.throwsAsync(trainCli([...common, `data=${join(root, 'missing')}`]), { message: `data: folder '${join(root, 'missing')}' does not exist` });
  const empty = join(root, 'empty-class');
  mkdirSync(join(empty, 'train', 'cat'), { recursive: true });
  mkdirSync(join(empty, 'train', 'dog'), { recursive: true });
  copyFileSync(join(data, 'train', readdirSync(join(data, 'train'))[0], readdirSync(join(data, 'train', readdirSync(join(data, 'train'))[0]))[0]), join(empty, 'train', 'cat', 'a.jpg'));
  await t.throwsAsync(trainCli([...common, `data=${empty}`]), { message: `data: class folder '${join(empty, 'train', 'dog')}' has no images` });
  await t.throwsAsync(trainCli([...common, `data=${data}`, 'batch=64']), { message: `batch: 64 is larger than the training set (32 images in '${join(data, 'train')}'): lower batch=` });
  t.true(noRuns(), 'nothing was written');
});

test.serial('weights of another model: train and val say which file, which key and which model it came from', async (t) => {
  manualSeed(0);
  const other = createModel('test_vmamba', { num_classes: 7 });
  const file = join(root, 'seven.safetensors');
  writeSafetensors(file, await other.stateDict(), { format: 'pt', model: 'test_vmamba_7' });
  other.dispose();
  const e = await t.throwsAsync(trainCli([...common, `data=${data}`, `weights=${file}`, 'epochs=1', 'batch=8']));
  t.regex(e!.message, new RegExp(`^weights: '${file}' does not fit model 'test_vmamba': .*size mismatch for '[\\w.]+': checkpoint has \\[7,\\d+\\], the model expects \\[2,\\d+\\].*It was saved from model 'test_vmamba_7'`));
  t.true(noRuns(), 'no run directory for a failed start');
  const v = await t.throwsAsync(valCli(['model=test_vmamba', `weights=${file}`, `data=${data}`, 'backend=cpu', 'imgsz=16', 'workers=0']));
  t.regex(v!.message, /does not fit model 'test_vmamba'.*\(the data has 2 classes\)$/);
  await t.throwsAsync(valCli(['model=test_vmambaa', `weights=${file}`, `data=${data}`]), { message: /unknown backbone 'test_vmambaa' \(did you mean test_vmamba/ });
});

test.serial('ssmv val --json: top-1/top-5/loss of a weights file on the val split', async (t) => {
  manualSeed(0);
  const m = createModel('test_vmamba', { num_classes: 2 });
  const file = join(root, 'two.safetensors');
  writeSafetensors(file, await m.stateDict(), { format: 'pt', model: 'test_vmamba' });
  m.dispose();
  const r = await capture(() => valCli(['model=test_vmamba', `weights=${file}`, `data=${data}`, 'backend=cpu', 'imgsz=16', 'workers=0', 'batch=5', '--json']));
  t.is(r.code, 0);
  const j = JSON.parse(r.out);
  t.is(j.images, 8);
  t.is(j.classes, 2);
  t.is(j.top5, 100); // 2 classes: every label is in the top 5
  t.true(j.top1 >= 0 && j.top1 <= 100 && j.top1 * 8 % 100 === 0, `top-1 ${j.top1} is a multiple of 1/8`);
  t.true(j.loss > 0);
});

function startTrain(args: string[]): { child: ReturnType<typeof spawn>; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [join(repo, 'bin', 'ssmv.mjs'), 'train', ...args], { cwd: repo, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.resume();
  return { child, err: () => err, exit: new Promise((res) => child.on('exit', (code) => res(code))) };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.serial('Ctrl-C on a real run: the checkpoint is saved mid-epoch and the process exits 130', async (t) => {
  const args = [...common, `data=${data}`, 'epochs=50', 'batch=4', 'lr=1e-3', 'warmup_epochs=1', 'mixup=0', 'cutmix=0', 'plots=false'];
  const a = startTrain([...args, 'name=sigint']);
  await until(() => /epoch 1\/50/.test(a.err()), 120_000);
  a.child.kill('SIGINT');
  t.is(await a.exit, 130);
  t.regex(a.err(), /Interrupted: finishing this update and saving .*sigint\/last/);
  const meta = JSON.parse(readFileSync(join(project, 'sigint', 'last.json'), 'utf8'));
  t.true(meta.state.step >= 8, 'saved after epoch 1');
  t.true(meta.state.epoch >= 1);
  t.false(readdirSync(join(project, 'sigint')).some((f) => f.includes('.tmp-')));
});

test.serial('a second Ctrl-C exits at once with code 130 (InterruptCallback)', (t) => {
  const lines: string[] = [];
  const cb = new InterruptCallback({ write: (s: string) => { lines.push(s); return true } } as unknown as NodeJS.WritableStream, 'runs/x/last');
  const stops: string[] = [];
  const fake = { requestStop: (r: string) => stops.push(r) } as unknown as Trainer;
  const exit = process.exit;
  const codes: number[] = [];
  process.exit = ((c: number) => { codes.push(c); }) as typeof process.exit;
  try {
    cb.onTrainStart(fake);
    process.emit('SIGINT');
    t.deepEqual(stops, ['interrupted']);
    t.deepEqual(codes, []);
    process.emit('SIGINT');
    t.deepEqual(codes, [130]);
    t.regex(lines.join(''), /saving runs\/x\/last \(press Ctrl-C again to exit now\)[\s\S]*Exiting now \(second Ctrl-C\)/);
  } finally {
    cb.onTrainEnd();
    process.exit = exit;
  }
  t.is(process.listenerCount('SIGINT'), 0, 'the handler is removed at the end of training');
});
