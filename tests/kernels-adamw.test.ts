// Fused AdamW kernel (core/kernels/adamw) against the composite tfjs formula, on cpu and webgpu.
import { tf } from '../core/tf.ts';
import { adamwUpdate, adamwReference } from '../core/kernels/adamw/index.ts';
import { testOnBackends, relErr } from './helpers/backends.ts';

testOnBackends('adamwUpdate equals the composite AdamW formula over three steps (odd size, decay on and off)', async (t) => {
  for (const [shape, wd] of [[[37, 5], 0.05], [[3, 3, 4, 1], 0]] as const) {
    let p = tf.randomNormal([...shape], 0, 1, 'float32', 1);
    let m = tf.zerosLike(p), v = tf.zerosLike(p);
    let pr = p.clone(), mr = m.clone(), vr = v.clone();
    const lr = 1e-2;
    for (let step = 1; step <= 3; step++) {
      const g = tf.randomNormal([...shape], 0, 1, 'float32', 10 + step);
      const a = { decay: 1 - lr * wd, beta1: 0.9, beta2: 0.999, stepSize: lr / (1 - 0.9 ** step), bc2Sqrt: Math.sqrt(1 - 0.999 ** step), eps: 1e-8 };
      const [p1, m1, v1] = adamwUpdate(p, g, m, v, a);
      const [p2, m2, v2] = adamwReference(pr, g, mr, vr, a);
      tf.dispose([p, m, v, pr, mr, vr, g]);
      [p, m, v, pr, mr, vr] = [p1, m1, v1, p2, m2, v2];
    }
    const [a, b, c, d, e, f] = await Promise.all([p, pr, m, mr, v, vr].map((x) => x.data()));
    t.true(relErr(a, b) < 2e-5, `p rel err ${relErr(a, b)}`);
    t.true(relErr(c, d) < 2e-5, `m rel err ${relErr(c, d)}`);
    t.true(relErr(e, f) < 5e-5, `v rel err ${relErr(e, f)}`);
    t.true(relErr(a, await tf.randomNormal([...shape], 0, 1, 'float32', 1).data()) > 1e-3, 'the parameter moved');
    tf.dispose([p, m, v, pr, mr, vr]);
  }
});

testOnBackends('adamwUpdate rejects a gradient of another shape', (t) => {
  const p = tf.zeros([4, 3]);
  t.throws(() => adamwUpdate(p, tf.zeros([3, 4]), p, p, { decay: 1, beta1: 0.9, beta2: 0.999, stepSize: 1e-3, bc2Sqrt: 1, eps: 1e-8 }), { message: /'g' has shape \[3,4\]/ });
});
