// Backend selection: `auto | webgpu | cpu | tensorflow`.
// - webgpu: tfjs' WebGPU backend on Dawn (`webgpu` npm package): Vulkan on Linux (NVIDIA/AMD drivers,
//   or Mesa's lavapipe on machines without a GPU), Metal on macOS, D3D12 on Windows.
// - cpu: tfjs' pure-JS backend (reference checks, tiny tests).
// - tensorflow: @tensorflow/tfjs-node(-gpu), an optional peer dependency, loaded only when installed.
// - auto: webgpu when Dawn finds an adapter, else cpu (announced on stderr).
import { createRequire } from 'node:module';
import { tf } from './tf.ts';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { closeMatches } from './registry.ts';
// tfjs-backend-cpu's matMul/transpose/tile/sum replaced by faster loops with identical results
import './kernels/tfjs-cpu/register.ts';

export const BACKEND_NAMES = ['auto', 'webgpu', 'cpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** true for software rasterisers (lavapipe/llvmpipe, SwiftShader) */
  software: boolean;
}

export interface BackendInfo {
  backend: string;
  requested: BackendName;
  adapter: AdapterSummary | null;
  /** limits of the device in force (webgpu only) */
  limits: Record<string, number> | null;
  features: string[];
  tfjsVersion: string;
  fallbackReason?: string;
}

interface GpuState {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  adapterSummary: AdapterSummary;
}

let gpuState: GpuState | null = null;
let gpuInitError: string | null = null;
let current: BackendInfo | null = null;

/** Limits requested from the adapter: its own maxima, not the WebGPU defaults. */
const LIMITS_TO_RAISE = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBuffersPerShaderStage',
] as const;

const FEATURES_WANTED = ['timestamp-query', 'subgroups', 'shader-f16'] as const;

function summarise(info: GPUAdapterInfo): AdapterSummary {
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const device = info.device ?? '';
  const description = info.description ?? '';
  const text = `${vendor} ${architecture} ${device} ${description}`.toLowerCase();
  return {
    vendor, architecture, device, description,
    software: /llvmpipe|lavapipe|swiftshader|softpipe/.test(text),
  };
}

/** Creates the Dawn device once per process (with the adapter's limits). Returns null when no adapter. */
async function initGpu(): Promise<GpuState | null> {
  if (gpuState || gpuInitError) return gpuState;
  try {
    if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const flags = (process.env.SSMV_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
    const gpu = create(flags);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      gpuInitError = 'Dawn found no GPU adapter (no Vulkan driver? install libvulkan1 and a driver, or mesa-vulkan-drivers for lavapipe)';
      return null;
    }
    const requiredLimits: Record<string, number> = {};
    const limits = adapter.limits as unknown as Record<string, number>;
    for (const name of LIMITS_TO_RAISE) if (typeof limits[name] === 'number') requiredLimits[name] = limits[name];
    const requiredFeatures = FEATURES_WANTED.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    device.lost.then((lost) => {
      if (lost.reason !== 'destroyed') process.stderr.write(`ssmv: WebGPU device lost: ${lost.message}\n`);
    });
    // tfjs-backend-webgpu checks navigator.gpu in its constructor.
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    gpuState = { gpu, adapter, device, adapterSummary: summarise(adapter.info) };
    return gpuState;
  } catch (e) {
    gpuInitError = `WebGPU initialisation failed: ${(e as Error).message}`;
    return null;
  }
}

function tfjsVersion(): string {
  return (tf.version as Record<string, string>)['tfjs'] ?? (tf.version as Record<string, string>)['tfjs-core'];
}

async function activateWebgpu(): Promise<boolean> {
  const state = await initGpu();
  if (!state) return false;
  if (!tf.findBackend('webgpu')) {
    tf.registerBackend('webgpu', () => new WebGPUBackend(state.device, state.adapter.info), 3);
  }
  return tf.setBackend('webgpu');
}

async function activateTensorflow(): Promise<void> {
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
    } catch {
      tried.push(pkg);
      continue;
    }
    await import(pkg);
    if (await tf.setBackend('tensorflow')) return;
    throw new Error(`${pkg} is installed but its 'tensorflow' backend did not start`);
  }
  throw new Error(
    `backend 'tensorflow' needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu, and neither is installed ` +
      `(tried ${tried.join(', ')}). Install one with \`npm install @tensorflow/tfjs-node@4.22.0\` ` +
      `(or tfjs-node-gpu for CUDA); its install downloads libtensorflow, so it needs internet access.`,
  );
}

/**
 * Selects the tensor backend. `webgpu` fails loudly when no adapter exists; `auto` falls back to cpu
 * and says so on stderr. Returns what is now in force.
 */
export async function setBackend(name: string = 'auto'): Promise<BackendInfo> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    const near = closeMatches(name, BACKEND_NAMES);
    throw new Error(
      `unknown backend '${name}'; valid backends: ${BACKEND_NAMES.join(', ')}` +
        (near.length ? ` (did you mean ${near.join(' or ')}?)` : ''),
    );
  }
  const requested = name as BackendName;
  let fallbackReason: string | undefined;
  if (requested === 'webgpu' || requested === 'auto') {
    const ok = await activateWebgpu();
    if (!ok) {
      const reason = gpuInitError ?? 'tf.setBackend("webgpu") returned false';
      if (requested === 'webgpu') throw new Error(`backend 'webgpu' is not available: ${reason}`);
      fallbackReason = reason;
      process.stderr.write(`ssmv: no WebGPU adapter, falling back to the cpu backend (${reason})\n`);
      await tf.setBackend('cpu');
    }
  } else if (requested === 'cpu') {
    await tf.setBackend('cpu');
  } else {
    await activateTensorflow();
  }
  await tf.ready();
  current = describe(requested, fallbackReason);
  return current;
}

function describe(requested: BackendName, fallbackReason?: string): BackendInfo {
  const backend = tf.getBackend();
  const onGpu = backend === 'webgpu' && gpuState;
  const limits: Record<string, number> = {};
  if (onGpu) {
    const l = gpuState!.device.limits as unknown as Record<string, number>;
    for (const name of LIMITS_TO_RAISE) limits[name] = l[name];
  }
  return {
    backend,
    requested,
    adapter: onGpu ? gpuState!.adapterSummary : null,
    limits: onGpu ? limits : null,
    features: onGpu ? [...gpuState!.device.features].sort() : [],
    tfjsVersion: tfjsVersion(),
    ...(fallbackReason ? { fallbackReason } : {}),
  };
}

/** The backend in force (setBackend must have been called). */
export function backendInfo(): BackendInfo {
  if (!current) throw new Error('no backend selected yet: call setBackend() first');
  return current;
}

/** The WebGPU device in use, or null when not on webgpu. */
export function gpuDevice(): GPUDevice | null {
  return tf.getBackend() === 'webgpu' && gpuState ? gpuState.device : null;
}

/** Drops the Dawn instance so Node can exit (Dawn keeps the event loop alive while referenced). */
export function releaseGpu(): void {
  if (!gpuState) return;
  try {
    if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
  } catch { /* already gone */ }
  gpuState.device.destroy();
  delete (globalThis as { navigator?: unknown }).navigator;
  gpuState = null;
}
