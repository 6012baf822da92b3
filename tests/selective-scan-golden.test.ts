// Forward y and every gradient of selectiveScan against the official recurrence computed in float64
// (../shared/golden, copied to tests/fixtures/golden): max|diff| / max|ref| <= 1e-4 per tensor.
import type { ExecutionContext } from 'ava';
import { testOnBackends, relErr } from './helpers/backends.ts';
import { tf, type Tensor } from '../core/tf.ts';
import { readSafetensors } from '../core/io/safetensors.ts';
import { selectiveScan, type SelectiveScanInputs } from '../scans/kernel/selective-scan/index.ts';
import { inputList, inputNames, withInputs } from './selective-scan-oracle.ts';

const GOLDEN_NAMES: Record<string, string> = {
  u: 'u', delta: 'delta', A: 'A', B: 'Bm', C: 'Cm', D: 'D', deltaBias: 'delta_bias',
};

for (let i = 0; i < 4; i++) {
  const file = `tests/fixtures/golden/selective_scan_${i}.safetensors`;
  const golden = readSafetensors(file);
  const md = golden.metadata;
  testOnBackends(`selective scan matches golden case ${i} (B${md.B} K${md.K} D${md.D} N${md.N} L${md.L} softplus=${md.softplus} bias=${md.bias} D=${md.withD})`, async (t, backend) => {
    // webgpu: every kernel family (fold and subgroup where the device has one subgroup size, portable)
    for (const kernel of backend === 'webgpu' ? ['fold', 'subgroup', 'portable'] : ['cpu']) {
      const saved = process.env.SSMV_SCAN_KERNEL;
      if (backend === 'webgpu') process.env.SSMV_SCAN_KERNEL = kernel;
      try {
        await goldenCase(t, kernel);
      } finally {
        if (saved === undefined) delete process.env.SSMV_SCAN_KERNEL;
        else process.env.SSMV_SCAN_KERNEL = saved;
      }
    }
  });
  const goldenCase = async (t: ExecutionContext, kernel: string) => {
    const rec = (name: string) => golden.tensors.get(name);
    const tensor = (name: string): Tensor => {
      const r = rec(name)!;
      return tf.tensor(r.data as Float32Array, r.shape);
    };
    const inputs = Object.fromEntries(
      Object.entries(GOLDEN_NAMES).filter(([, g]) => rec(g)).map(([n, g]) => [n, tensor(g)]),
    ) as unknown as SelectiveScanInputs;
    const options = { deltaSoftplus: md.softplus === 'True' };
    const dy = tensor('dy');
    const y = selectiveScan(inputs, options);
    const grads = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(selectiveScan(withInputs(inputs, xs), options), dy)))(inputList(inputs));
    const figures: string[] = [];
    const check = async (name: string, got: Tensor, ref: string) => {
      const e = relErr(await got.data(), rec(ref)!.data); // GPU->CPU sync
      figures.push(`${name} ${e.toExponential(2)}`);
      t.true(e <= 1e-4, `${name}: max|diff|/max|ref| = ${e}`);
    };
    await check('y', y, 'y');
    const names = inputNames(inputs);
    t.is(names.length, 5 + (md.withD === 'True' ? 1 : 0) + (md.bias === 'True' ? 1 : 0));
    for (let j = 0; j < names.length; j++) await check(`d${names[j]}`, grads[j], `grad_${GOLDEN_NAMES[names[j]]}`);
    t.log(`${kernel} kernels, max|diff|/max|ref|: ${figures.join(', ')}`);
    tf.dispose([...inputList(inputs), dy, y, ...grads]);
  };
}
