// The model commands end to end, in process: info --model, import, predict.
import test from 'ava';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { main } from '../cli/main.ts';
import { readSafetensors } from '../core/io/safetensors.ts';
import { readCheckpoint } from '../core/io/checkpoint.ts';

const GOLDEN = 'tests/fixtures/golden/vmamba_s2l5_cf.pth';
const dir = mkdtempSync(join(tmpdir(), 'ssmv-cli-'));

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

test.serial('info --model --json reports the parameter count', async (t) => {
  const r = await capture(['info', '--model', 'vmamba_small_s2l15', '--json', '--flops', 'false']);
  t.is(r.code, 0, r.err);
  t.is(JSON.parse(r.out).params, 50147752);
});

test.serial('info --model counts FLOPs as fvcore does: vmamba_tiny_s2l5 within 5% of the published 4.9G', async (t) => {
  const r = await capture(['info', '--model', 'vmamba_tiny_s2l5', '--json', '--backend', 'cpu']);
  t.is(r.code, 0, r.err);
  const info = JSON.parse(r.out);
  t.log(`flops ${(info.flops / 1e9).toFixed(3)} G by op ${JSON.stringify(info.flopsByOp)}`);
  t.true(Math.abs(info.flops / 4.9e9 - 1) < 0.05);
  t.true(info.flopsByOp.selective_scan > 0 && info.flopsByOp.layer_norm > 0 && info.flopsByOp.conv > 0);
});

test.serial('import converts the official checkpoint strictly; the output re-reads to the same tensors', async (t) => {
  const out = join(dir, 'test_vmamba.safetensors');
  const r = await capture(['import', GOLDEN, '--model', 'test_vmamba', '--out', out]);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /params\s+458,138/);
  const src = readCheckpoint(GOLDEN);
  const dst = readSafetensors(out).tensors;
  t.is(dst.size, src.size);
  for (const [k, v] of src) {
    t.deepEqual(dst.get(k)!.shape, v.shape, k);
    t.deepEqual(Array.from(dst.get(k)!.data), Array.from(v.data), k);
  }
});

test.serial('import with weights of another model fails naming the first mismatch, and writes nothing', async (t) => {
  const out = join(dir, 'wrong.safetensors');
  const r = await capture(['import', GOLDEN, '--model', 'vmamba_tiny_s2l5', '--out', out]);
  t.is(r.code, 1);
  t.regex(r.err, /size mismatch for 'patch_embed\.0\.weight'/);
  t.false(existsSync(out));
});

test.serial('predict prints the top classes with probabilities', async (t) => {
  const img = join(dir, 'cat.jpg');
  await sharp({ create: { width: 120, height: 90, channels: 3, background: { r: 200, g: 120, b: 40 } } }).jpeg().toFile(img);
  const r = await capture(['predict', img, '--model', 'test_vmamba', '--weights', GOLDEN, '--img', '64', '--topk', '3', '--json', '--backend', 'cpu']);
  t.is(r.code, 0, r.err);
  const [res] = JSON.parse(r.out);
  t.is(res.top.length, 3);
  t.true(res.top[0].prob >= res.top[1].prob && res.top[1].prob >= res.top[2].prob);
  t.true(res.top.every((c: { class: number }) => c.class >= 0 && c.class < 10));
  const missing = await capture(['predict', join(dir, 'nope.jpg'), '--model', 'test_vmamba', '--weights', GOLDEN, '--backend', 'cpu']);
  t.is(missing.code, 1);
  t.regex(missing.err, /nope\.jpg/);
});
