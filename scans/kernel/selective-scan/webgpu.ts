// WebGPU kernels of the selective scan: raw pipelines (several outputs, up to 12 storage bindings)
// recorded into tfjs' command stream. Forward -> [y, tile-start states]; backward -> [du, ddelta,
// dB, dC, dParams (B, K*D, N+2)].
import { tf, type TensorInfo } from '../../../core/tf.ts';
import { SCAN_GRAD_KERNEL, SCAN_KERNEL, type ScanAttrs } from './types.ts';
import { outputShape } from './validate.ts';
import { chooseFamily, chooseTiling, geometryUniforms, wantsRolledLoops, workgroupCount } from './webgpu-config.ts';
import { chooseFoldTiling, foldBackward, foldForward } from './webgpu-fold.ts';
import { shaderVariant, variantKey } from './wgsl-common.ts';
import { forwardWgsl } from './wgsl-forward.ts';
import { backwardWgsl } from './wgsl-backward.ts';
import { backwardSubgroupWgsl, forwardSubgroupWgsl } from './wgsl-subgroup.ts';
import {
  checkBindingSizes, checkStorageBindings, clearTensors, dispatch, getPipeline, grid, splitDBC, type WebgpuBackendLike,
} from './webgpu-runtime.ts';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };

const PACK_WGSL = /* wgsl */ `
struct Sizes { channels: u32, N: u32, gridX: u32, pad: u32 }
@group(0) @binding(0) var<uniform> sz: Sizes;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> D: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> params: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let np = sz.N + 2u;
  if (i >= sz.channels * np) { return; }
  let c = i / np;
  let n = i % np;
  var v = 0.0;
  if (n < sz.N) { v = A[c * sz.N + n]; } else if (n == sz.N) { v = D[c]; } else { v = bias[c]; }
  params[i] = v;
}
`;

/** params (K*D, N+2) = [A | D | deltaBias]: one binding instead of three. */
function packParams(be: WebgpuBackendLike, A: TensorInfo, D: TensorInfo, bias: TensorInfo, channels: number, N: number): TensorInfo {
  const params = be.makeTensorInfo([channels, N + 2], 'float32');
  const pipeline = getPipeline(be, 'ssm-pack-params', () => PACK_WGSL, 'SelectiveScanPackParams');
  const count = Math.ceil((channels * (N + 2)) / 64);
  dispatch(be, pipeline, Uint32Array.from([channels, N, count, 0]), [A, D, bias, params], [count, 1]);
  return params;
}

/** The device's single subgroup size, or 0 (no 'subgroups' feature, or a range of sizes). */
function subgroupSize(be: WebgpuBackendLike): number {
  const info = (be.device as unknown as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
  if (!be.device.features.has('subgroups') || !info?.subgroupMinSize) return 0;
  return info.subgroupMinSize === info.subgroupMaxSize ? info.subgroupMinSize : 0;
}

function tilingOf(be: WebgpuBackendLike, g: ScanAttrs, family: 'subgroup' | 'portable') {
  return chooseTiling(g, be.device.limits, subgroupSize(be), family);
}

function forwardWebgpu({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const be = backend as WebgpuBackendLike;
  const g = attrs as unknown as ScanAttrs;
  const { u, delta, A, B, C, D, deltaBias, index } = inputs as Record<string, TensorInfo>;
  const family = chooseFamily(g, subgroupSize(be));
  if (family === 'fold') {
    const ft = chooseFoldTiling(g, be.device.limits, subgroupSize(be));
    const params = packParams(be, A, D, deltaBias, g.channels, g.N);
    const out = foldForward(be, g, ft, wantsRolledLoops(be.adapterInfo), inputs as Record<string, TensorInfo>, params);
    be.disposeData(params.dataId);
    return out;
  }
  const t = tilingOf(be, g, family);
  const loopK = t.loopKForward;
  const y = be.makeTensorInfo(outputShape(g), 'float32');
  const states = be.makeTensorInfo([g.batch, g.channels, t.nTiles, g.N], 'float32');
  checkBindingSizes(be, { u, delta, B, C, y, states });
  checkStorageBindings(be, 8, 'forward');
  const params = packParams(be, A, D, deltaBias, g.channels, g.N);
  if (g.mode !== 'direct') clearTensors(be, [y]); // unvisited positions are 0; 'sum' accumulates
  const v = shaderVariant(g, t, loopK, wantsRolledLoops(be.adapterInfo));
  const pipeline = getPipeline(be, `fwd${variantKey(v)}`, () => (v.subgroup ? forwardSubgroupWgsl(v) : forwardWgsl(v)), 'SelectiveScanForward');
  const [gx, gy] = grid(be, workgroupCount(g, t, loopK));
  dispatch(be, pipeline, geometryUniforms(g, t, loopK, gx), [u, delta, params, B, C, index, y, states], [gx, gy]);
  be.disposeData(params.dataId);
  return [y, states];
}

function backwardWebgpu({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const be = backend as WebgpuBackendLike;
  const g = attrs as unknown as ScanAttrs;
  const { u, delta, A, B, C, D, deltaBias, index, states, dy } = inputs as Record<string, TensorInfo>;
  const family = chooseFamily(g, subgroupSize(be));
  if (family === 'fold') {
    const ft = chooseFoldTiling(g, be.device.limits, subgroupSize(be));
    if (states.shape.length !== 4 || states.shape[2] !== ft.nSeg || states.shape[3] !== g.N) {
      throw new Error(`selectiveScan(webgpu) backward: saved states have shape [${states.shape}], expected [${g.batch}, ${g.channels}, ${ft.nSeg}, ${g.N}] (forward run with other kernels or tiling?)`);
    }
    const params = packParams(be, A, D, deltaBias, g.channels, g.N);
    const out = foldBackward(be, g, ft, wantsRolledLoops(be.adapterInfo), inputs as Record<string, TensorInfo>, params);
    be.disposeData(params.dataId);
    return out;
  }
  const t = tilingOf(be, g, family);
  if (states.shape.length !== 4 || states.shape[2] !== t.nTiles || states.shape[3] !== g.N) {
    throw new Error(`selectiveScan(webgpu) backward: saved states have shape [${states.shape}], expected [${g.batch}, ${g.channels}, ${t.nTiles}, ${g.N}] (forward run on another backend or tiling?)`);
  }
  const loopK = t.loopKBackward;
  const uRows = g.uShared ? g.channels / g.K : g.channels;
  const du = be.makeTensorInfo([g.batch, uRows, g.P], 'float32');
  const ddelta = be.makeTensorInfo([g.batch, g.channels, g.P], 'float32');
  // dB/dC: partial sums per block of R rows (2, B, G, Dg/R, N, P) reduced below, or atomic adds
  const blocks = g.channels / g.G / t.R;
  const dBC = be.makeTensorInfo(t.partial ? [2, g.batch, g.G, blocks, g.N, g.P] : [2, g.batch, g.G, g.N, g.P], 'float32');
  const dParams = be.makeTensorInfo([g.batch, g.channels, g.N + 2], 'float32');
  checkBindingSizes(be, { u, delta, B, C, states, dy, du, ddelta, dBC, dParams });
  checkStorageBindings(be, 12, 'backward');
  const params = packParams(be, A, D, deltaBias, g.channels, g.N);
  const zeroed: TensorInfo[] = [];
  if (!t.partial || g.mode !== 'direct') zeroed.push(dBC); // atomics accumulate; plans may skip positions
  if (g.mode !== 'direct') zeroed.push(du, ddelta); // unvisited positions are 0; shared u / repeats accumulate
  if (zeroed.length) clearTensors(be, zeroed);
  const v = shaderVariant(g, t, loopK, wantsRolledLoops(be.adapterInfo));
  const pipeline = getPipeline(be, `bwd${variantKey(v)}`, () => (v.subgroup ? backwardSubgroupWgsl(v) : backwardWgsl(v)), 'SelectiveScanBackward');
  const [gx, gy] = grid(be, workgroupCount(g, t, loopK));
  dispatch(be, pipeline, geometryUniforms(g, t, loopK, gx), [u, delta, params, B, C, index, states, dy, du, ddelta, dBC, dParams], [gx, gy]);
  const [dB, dC] = splitDBC(be, dBC, g, t.partial ? blocks : null);
  be.disposeData(params.dataId);
  be.disposeData(dBC.dataId);
  return [du, ddelta, dB, dC, dParams];
}

export function registerWebgpuKernels(): void {
  tf.registerKernel({ kernelName: SCAN_KERNEL, backendName: 'webgpu', kernelFunc: forwardWebgpu as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: SCAN_GRAD_KERNEL, backendName: 'webgpu', kernelFunc: backwardWebgpu as unknown as tf.KernelFunc });
}
