// Mamba-YOLO T / B / L as the official YAMLs build them: parameter counts from an independent count
// of the official constructors (mamba_yolo.py, conv.py, block.py SPPF, head.py Detect) equal the
// model's and round to the figures of models.md 8.1 (6.132M / 21.828M / 57.631M, nc = 80); state-dict
// names and shapes of models.md 8.1; strides, feature info, Detect bias init, BatchNorm eps; the tiny
// test_ variant's forward (training levels and decoded inference output) and bad input.
import test from 'ava';
import { tf } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { withoutInit } from '../core/nn/init.ts';
import { BatchNorm2d } from '../core/nn/norm.ts';
import { createModel, backbones } from '../backbones/index.ts';
import { heads } from '../heads/index.ts';
import type { MambaYOLO } from '../backbones/mamba-yolo.ts';

test.before(async () => {
  await setBackend('cpu');
});

// ---- an independent count, module by module, from the official constructors -------------------
const conv = (ci: number, co: number, k: number, bias: boolean, groups = 1) => (co * ci * k * k) / groups + (bias ? co : 0);
const bn = (c: number) => 2 * c;
const ln = (c: number) => 2 * c;
const ultraConv = (c1: number, c2: number, k: number) => conv(c1, c2, k, false) + bn(c2);
function ss2d(C: number): number {
  const D = 2 * C, R = Math.ceil(C / 16), N = 16, K = 4;
  return conv(C, 2 * D, 1, false) + conv(D, D, 3, true, D) + K * (R + 2 * N) * D + K * D * R + K * D + K * D * N + K * D + ln(D) + conv(D, C, 1, false);
}
const lsblock = (C: number) => conv(C, C, 3, true, C) + bn(C) + conv(C, C, 1, true) + conv(C, C, 1, true);
function rgblock(C: number): number {
  const hf = Math.trunc((2 * 4 * C) / 3);
  return conv(C, 2 * hf, 1, true) + conv(hf, hf, 3, true, hf) + conv(hf, C, 1, true);
}
const vss = (c1: number, c2: number) => conv(c1, c2, 1, true) + bn(c2) + ln(c2) + ss2d(c2) + lsblock(c2) + ln(c2) + rgblock(c2);
const xss = (c1: number, c2: number, n: number) => (c1 !== c2 ? conv(c1, c2, 1, false) + bn(c2) : 0) + ln(c2) + n * ss2d(c2) + lsblock(c2) + ln(c2) + rgblock(c2);
function detect(nc: number, ch: number[]): number {
  const c2 = Math.max(16, Math.floor(ch[0] / 4), 64), c3 = Math.max(ch[0], Math.min(nc, 100));
  return ch.reduce((s, x) => s + ultraConv(x, c2, 3) + ultraConv(c2, c2, 3) + conv(c2, 64, 1, true) + ultraConv(x, c3, 3) + ultraConv(c3, c3, 3) + conv(c3, nc, 1, true), 0) + 16;
}
function officialCount(depth: number, width: number, maxCh: number, nc: number): number {
  const ch = (a: number) => Math.ceil((Math.min(a, maxCh) * width) / 8) * 8;
  const rep = (n: number) => (n > 1 ? Math.max(Math.round(n * depth), 1) : n);
  const [c1, c2, c3, c4] = [ch(128), ch(256), ch(512), ch(1024)];
  let s = conv(3, c1 / 2, 3, false) + bn(c1 / 2) + conv(c1 / 2, c1, 3, false) + bn(c1); // 0 SimpleStem
  s += rep(3) * vss(c1, c1); // 1
  s += conv(4 * c1, c2, 1, true) + bn(c2) + rep(3) * vss(c2, c2); // 2, 3
  s += conv(4 * c2, c3, 1, true) + bn(c3) + rep(9) * vss(c3, c3); // 4, 5
  s += conv(4 * c3, c4, 1, true) + bn(c4) + rep(3) * vss(c4, c4); // 6, 7
  s += ultraConv(c4, c4 / 2, 1) + ultraConv(2 * c4, c4, 1); // 8 SPPF
  const n = rep(3);
  s += xss(c4 + c3, c3, n) + xss(c3 + c2, c2, n); // 11, 14
  s += ultraConv(c2, c2, 3) + xss(c2 + c3, c3, n); // 15, 17
  s += ultraConv(c3, c3, 3) + xss(c3 + c4, c4, n); // 18, 20
  return s + detect(nc, [c2, c3, c4]);
}

test('parameter counts of T / B / L equal the official constructors and round to models.md 8.1', (t) => {
  const cases: Array<[string, number, number, number, number]> = [
    ['mamba_yolo_t', 0.33, 0.25, 1024, 6.132e6], ['mamba_yolo_b', 0.33, 0.5, 1024, 21.828e6], ['mamba_yolo_l', 0.67, 0.75, 768, 57.631e6],
  ];
  for (const [name, d, w, m, reported] of cases) {
    const model = withoutInit(() => createModel(name));
    const n = model.numParams();
    model.dispose();
    t.is(n, officialCount(d, w, m, 80), name);
    t.is(Math.round(n / 1000) * 1000, reported, `${name}: ${n}`);
    const entry = backbones.get(name);
    t.true(Math.abs(n - entry.approxParams!.count) <= entry.approxParams!.tolerance);
    t.log(`${name}: ${n.toLocaleString('en')} parameters`);
  }
  t.is(withoutInit(() => createModel('test_mamba_yolo')).numParams(), officialCount(0.33, 0.0625, 1024, 4));
});

test('state-dict names and shapes of Mamba-YOLO-T (models.md 8.1), strides and features', (t) => {
  const m = withoutInit(() => createModel('mamba_yolo_t')) as unknown as MambaYOLO;
  const sd = new Map(m.namedParameters().map((p) => [p.name, p.torchShape.join(',')]));
  for (const b of m.namedBuffers()) sd.set(b.name, b.variable.shape.join(','));
  const want: Record<string, string> = {
    'model.0.conv.0.weight': '16,3,3,3', 'model.0.conv.1.running_var': '16', 'model.0.conv.3.weight': '32,16,3,3', 'model.0.conv.4.num_batches_tracked': '',
    'model.1.proj_conv.0.weight': '32,32,1,1', 'model.1.proj_conv.0.bias': '32', 'model.1.norm.norm.weight': '32',
    'model.1.op.x_proj_weight': '4,34,64', 'model.1.op.Ds': '256', 'model.1.op.A_logs': '256,16', 'model.1.op.dt_projs_weight': '4,64,2',
    'model.1.op.dt_projs_bias': '4,64', 'model.1.op.out_norm.weight': '64', 'model.1.op.in_proj.weight': '128,32,1,1',
    'model.1.op.conv2d.weight': '64,1,3,3', 'model.1.op.conv2d.bias': '64', 'model.1.op.out_proj.weight': '32,64,1,1',
    'model.1.lsblock.fc1.weight': '32,1,3,3', 'model.1.lsblock.norm.weight': '32', 'model.1.lsblock.fc2.weight': '32,32,1,1', 'model.1.lsblock.fc3.bias': '32',
    'model.1.norm2.norm.bias': '32', 'model.1.mlp.fc1.weight': '170,32,1,1', 'model.1.mlp.dwconv.weight': '85,1,3,3', 'model.1.mlp.fc2.weight': '32,85,1,1',
    'model.2.pw_linear.0.weight': '64,128,1,1', 'model.2.pw_linear.1.weight': '64',
    'model.5.0.op.A_logs': '1024,16', 'model.5.2.mlp.fc2.bias': '128', 'model.8.cv1.conv.weight': '128,256,1,1', 'model.8.cv2.bn.bias': '256',
    'model.11.in_proj.0.weight': '128,384,1,1', 'model.11.in_proj.1.running_mean': '128', 'model.11.ss2d.0.x_proj_weight': '4,40,256',
    'model.15.conv.weight': '64,64,3,3', 'model.20.ss2d.0.in_proj.weight': '1024,256,1,1',
    'model.21.cv2.0.0.conv.weight': '64,64,3,3', 'model.21.cv2.0.2.weight': '64,64,1,1', 'model.21.cv2.2.2.bias': '64',
    'model.21.cv3.0.0.conv.weight': '80,64,3,3', 'model.21.cv3.1.2.weight': '80,80,1,1', 'model.21.cv3.2.2.bias': '80', 'model.21.dfl.conv.weight': '1,16,1,1',
  };
  for (const [k, v] of Object.entries(want)) t.is(sd.get(k), v, k);
  t.false(sd.has('model.5.op.A_logs'), 'stacked VSSBlocks are numbered');
  t.false(sd.has('model.1.0.op.A_logs'), 'a single VSSBlock is not');
  t.false([...sd.keys()].some((k) => k.startsWith('model.11.ss2d.1.')), 'XSSBlock n = 1 for T');
  t.deepEqual(m.stride, [8, 16, 32]);
  t.deepEqual(m.featureInfo, [{ channels: 64, reduction: 8, module: 'model.14' }, { channels: 128, reduction: 16, module: 'model.17' }, { channels: 256, reduction: 32, module: 'model.20' }]);
  const bns = m.namedModules().filter(([, x]) => x instanceof BatchNorm2d).map(([, x]) => x as BatchNorm2d);
  // stem 2 + VSSBlocks 6 x 2 + merges 3 + SPPF 2 + XSSBlocks 4 x 2 + neck Convs 2 + Detect 3 x 4 = 41
  t.is(bns.length, 41);
  t.true(bns.every((b) => b.eps === 1e-3 && b.momentum === 0.03), 'every BatchNorm: eps 1e-3, momentum 0.03 (initialize_weights)');
  const l = withoutInit(() => createModel('mamba_yolo_l'));
  const lk = new Set(l.namedParameters().map((p) => p.name));
  t.true(lk.has('model.1.1.op.A_logs') && lk.has('model.11.ss2d.1.A_logs') && lk.has('model.5.5.op.Ds'), 'L: VSSBlock x2 / x6, XSSBlock n = 2');
  t.is(l.featureInfo[2].channels, 576);
  m.dispose();
  l.dispose();
});

test('Detect bias init and SS2D simple init', async (t) => {
  const m = createModel('test_mamba_yolo') as unknown as MambaYOLO;
  const p = new Map(m.namedParameters().map((x) => [x.name, x.variable]));
  t.deepEqual([...(await p.get('model.21.cv2.1.2.bias')!.data())], new Array(64).fill(1));
  const cls = await p.get('model.21.cv3.2.2.bias')!.data();
  t.true(Math.abs(cls[0] - Math.log(5 / 4 / (640 / 32) ** 2)) < 1e-6, `${cls[0]}`);
  t.deepEqual([...new Set(await p.get('model.3.op.A_logs')!.data())], [0]);
  t.deepEqual([...new Set(await p.get('model.3.op.Ds')!.data())], [1]);
  const dt = Array.from(await p.get("model.3.op.dt_projs_bias")!.data());
  const mean = dt.reduce((a, b) => a + b, 0) / dt.length;
  const sd = Math.sqrt(dt.reduce((a, b) => a + (b - mean) ** 2, 0) / dt.length);
  t.true(Math.abs(mean) < 0.3 && sd > 0.7 && sd < 1.3, `dt_projs_bias ~ N(0, 1): mean ${mean}, sd ${sd}`);
  const dfl = p.get('model.21.dfl.conv.weight')!;
  t.false(dfl.trainable);
  t.deepEqual([...(await dfl.data())], Array.from({ length: 16 }, (_, i) => i));
  m.dispose();
});

test('test_mamba_yolo forward: training levels and decoded predictions at 64x64', async (t) => {
  const m = createModel('test_mamba_yolo') as unknown as MambaYOLO;
  const x = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 1);
  const levels = m.forwardTrain(x);
  t.deepEqual(levels.map((l) => l.shape), [[2, 8, 8, 68], [2, 4, 4, 68], [2, 2, 2, 68]]);
  m.eval();
  const y = m.forward(x);
  t.deepEqual(y.shape, [2, 84, 8]);
  const v = await y.data();
  let ok = true;
  for (let a = 0; a < 84; a++) {
    const [cx, cy, w, h] = v.subarray(a * 8, a * 8 + 4);
    const s = v.subarray(a * 8 + 4, a * 8 + 8);
    // DFL distances lie in [0, 15] grid units: w, h in [0, 30 * stride]; sigmoid scores in (0, 1)
    if (!(w >= 0 && h >= 0 && w <= 30 * 32 && h <= 30 * 32 && Number.isFinite(cx) && Number.isFinite(cy) && s.every((q) => q > 0 && q < 1))) ok = false;
  }
  t.true(ok);
  const feats = m.forwardIntermediates(x, { indices: [2] });
  t.deepEqual(feats.map((f) => f.shape), [[2, 2, 2, 64]]);
  t.throws(() => m.forward(tf.zeros([1, 48, 64, 3])), { message: /multiples of 32/ });
  t.throws(() => m.forward(tf.zeros([1, 64, 64, 1])), { message: /\(B, H, W, 3\)/ });
  tf.dispose([x, y, ...levels, ...feats]);
  m.dispose();
});

test('registries and constructor errors', (t) => {
  t.true(heads.has('yolo_detect'));
  const det = heads.get('yolo_detect').create(3, [16, 32, 64]) as { no: number };
  t.is(det.no, 3 + 64);
  t.throws(() => createModel('mamba_yolo_t', { num_classes: 10 }), { message: /task=detect/ });
  t.throws(() => createModel('mamba_yolo_t', { depth_multiple: 1 }), { message: /unknown constructor argument 'depth_multiple'/ });
  t.throws(() => createModel('mamba_yolo_t', { scale: 'X' }), { message: /unknown scale 'X'/ });
  t.throws(() => createModel('mamba_yolo_t', { nc: 2, names: ['a'] }), { message: /1 names for nc = 2/ });
  t.throws(() => backbones.get('mamba_yolo_s'), { message: /did you mean/ });
});
