// WebGPU kernels of the fused elementwise ops: one dispatch each, vec4 when the sizes allow.
import { tf, type TensorInfo } from '../../tf.ts';
import { checkBindings, dispatch, getPipeline, grid, uniformWords, type WebgpuBackendLike } from '../webgpu-runtime.ts';
import { requireFloat32 } from '../kernel-util.ts';
import { EW_KERNELS, elementwiseWgsl } from './wgsl.ts';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown };

export function elementwiseWebgpu(name: string) {
  const k = EW_KERNELS[name];
  if (!k) throw new Error(`elementwise: no kernel '${name}'`);
  const perRow = new Set(k.perRow ?? []);
  return ({ inputs, backend }: Args): TensorInfo => {
    const be = backend as WebgpuBackendLike;
    const ins = k.inputs.map((n) => (inputs as Record<string, TensorInfo>)[n]);
    requireFloat32(name, Object.fromEntries(k.inputs.map((n, i) => [n, ins[i]])));
    const full = ins.find((_, i) => !perRow.has(k.inputs[i]))!;
    const n = tf.util.sizeFromShape(full.shape);
    const rows = perRow.size ? tf.util.sizeFromShape(ins[k.inputs.findIndex((x) => perRow.has(x))].shape) : 1;
    const rowLen = n / rows;
    if (!Number.isInteger(rowLen)) throw new Error(`${name}: ${n} elements do not split into ${rows} rows`);
    const V: 1 | 4 = n % 4 === 0 && rowLen % 4 === 0 ? 4 : 1;
    const out = be.makeTensorInfo(full.shape, 'float32');
    checkBindings(be, name, { ...Object.fromEntries(k.inputs.map((x, i) => [x, ins[i]])), out });
    const pipeline = getPipeline(be, `ssmv-ew-${name}-v${V}`, () => elementwiseWgsl(k, V), name);
    const threads = n / V;
    const [gx, gy] = grid(be, Math.ceil(threads / 256));
    dispatch(be, pipeline, uniformWords([threads, gx, rowLen, 0]), [...ins, out], [gx, gy]);
    return out;
  };
}
