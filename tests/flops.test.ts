// The FLOP counter's per-kernel rules (fvcore convention) on hand-computed cases.
import test from 'ava';
import { setBackend } from '../core/backend.ts';
import { tf } from '../core/tf.ts';
import { countFlops } from '../eval/flops.ts';
import { Linear, Conv2d, LayerNorm } from '../core/nn/index.ts';
import { selectiveScan } from '../scans/kernel/selective-scan/index.ts';
import { scans } from '../scans/index.ts';

test.serial('matmul, conv, depthwise conv, layer norm and the selective scan are counted as fvcore does', async (t) => {
  await setBackend('cpu');
  const x = tf.ones([2, 5, 8]);
  const lin = new Linear(8, 3);
  t.deepEqual((await countFlops(() => lin.forward(x))).byOp, { matmul: 2 * 5 * 3 * 8 });
  const a = tf.ones([4, 6, 7]), b = tf.ones([4, 9, 7]);
  t.is((await countFlops(() => tf.matMul(a, b, false, true))).total, 4 * 6 * 9 * 7, 'transposed operand');
  const img = tf.ones([1, 10, 10, 4]);
  const conv = new Conv2d(4, 6, 3, { stride: 2, padding: 1 });
  t.is((await countFlops(() => conv.forward(img))).total, 5 * 5 * 6 * 3 * 3 * 4);
  const dw = new Conv2d(4, 4, 7, { padding: 3, groups: 4 });
  t.is((await countFlops(() => dw.forward(img))).total, 10 * 10 * 4 * 49);
  const ln = new LayerNorm(8);
  t.deepEqual((await countFlops(() => ln.forward(x))).byOp, { layer_norm: 80 * 5 });
  // scan: 9*B*L*(K*D)*N + B*(K*D)*L, with L the plan's steps
  const [Bn, K, D, N, H, W] = [2, 4, 3, 2, 3, 5];
  const plan = scans.get('cross').plan(H, W);
  const y = () => selectiveScan({
    u: tf.ones([Bn, D, H * W]), delta: tf.ones([Bn, K * D, H * W]), A: tf.fill([K * D, N], -1), B: tf.ones([Bn, K, N, H * W]), C: tf.ones([Bn, K, N, H * W]),
  }, { plan });
  t.deepEqual((await countFlops(y)).byOp, { selective_scan: 9 * Bn * 15 * K * D * N + Bn * K * D * 15 });
});
