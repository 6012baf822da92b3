// WebGPU kernels of RoIAlign, as tfjs WebGPUPrograms (one output, two inputs). Forward: one thread
// per output element (r, ph, pw, c) of (R, PH, PW, C), averaging its bin's bilinear samples.
// Backward: one thread per dy element, adding dy / count * weight to the four corners of every sample
// with a compare-exchange float add on the i32 view of a zero-filled dx (as mmcv's atomicAdd; the
// summation order, hence the last bits, varies between runs). Nothing is baked into the WGSL text, so
// the shader keys are constant: sizes and options travel as uniforms.
import { tf } from '../../../core/tf.ts';
type TensorInfo = tf.TensorInfo;
import { webgpu_util, type WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { ROI_ALIGN_GRAD_KERNEL, ROI_ALIGN_KERNEL, type RoIAlignAttrs, type RoIAlignGradAttrs } from './types.ts';

interface WebgpuBackendLike {
  runWebGPUProgram(program: WebGPUProgram, inputs: TensorInfo[], dtype: 'float32', uniforms?: Array<{ type: string; data: number[] }>, output?: TensorInfo): TensorInfo;
}

const WORKGROUP: [number, number, number] = [64, 1, 1];

/**
 * Shared WGSL: the RoI's geometry and the corners of one sample. `feat` is the (N, H, W, C) input.
 * Float32 steps in the order of mmcv's CUDA expressions.
 */
const GEOMETRY_WGSL = /* wgsl */ `
struct Geom { valid : bool, base : i32, sy : f32, sx : f32, bh : f32, bw : f32, gh : i32, gw : i32, inv : f32 }

fn roiGeom(r : i32, N : i32, H : i32, W : i32, C : i32, PH : i32, PW : i32) -> Geom {
  var g : Geom;
  g.valid = false;
  let o = r * 5;
  let bf = rois[o];
  let n = i32(bf);
  for (var k = 0; k < 5; k++) {
    let v = rois[o + k];
    if (isnan(v) || isinf(v)) { return g; }
  }
  if (n < 0 || n >= N) { return g; }
  let off = select(0.0, 0.5, uniforms.aligned != 0);
  g.sx = rois[o + 1] * uniforms.spatialScale - off;
  g.sy = rois[o + 2] * uniforms.spatialScale - off;
  let ex = rois[o + 3] * uniforms.spatialScale - off;
  let ey = rois[o + 4] * uniforms.spatialScale - off;
  var rw = ex - g.sx;
  var rh = ey - g.sy;
  if (uniforms.aligned == 0) { rw = max(rw, 1.0); rh = max(rh, 1.0); }
  g.bh = rh / f32(PH);
  g.bw = rw / f32(PW);
  if (uniforms.samplingRatio > 0) {
    g.gh = uniforms.samplingRatio;
    g.gw = uniforms.samplingRatio;
  } else {
    g.gh = max(0, i32(ceil(g.bh)));
    g.gw = max(0, i32(ceil(g.bw)));
  }
  g.inv = 1.0 / f32(max(g.gh * g.gw, 1));
  g.base = n * H * W * C;
  g.valid = true;
  return g;
}

struct Corners { ok : bool, p : vec4<i32>, w : vec4<f32> }

fn sampleCorners(yIn : f32, xIn : f32, H : i32, W : i32) -> Corners {
  var c : Corners;
  c.ok = false;
  if (yIn < -1.0 || yIn > f32(H) || xIn < -1.0 || xIn > f32(W)) { return c; }
  var y = select(yIn, 0.0, yIn <= 0.0);
  var x = select(xIn, 0.0, xIn <= 0.0);
  var yl = i32(y);
  var xl = i32(x);
  var yh = yl + 1;
  var xh = xl + 1;
  if (yl >= H - 1) { yl = H - 1; yh = H - 1; y = f32(yl); }
  if (xl >= W - 1) { xl = W - 1; xh = W - 1; x = f32(xl); }
  let ly = y - f32(yl);
  let lx = x - f32(xl);
  let hy = 1.0 - ly;
  let hx = 1.0 - lx;
  c.p = vec4<i32>(yl * W + xl, yl * W + xh, yh * W + xl, yh * W + xh);
  c.w = vec4<f32>(hy * hx, hy * lx, ly * hx, ly * lx);
  c.ok = true;
  return c;
}

fn coordAt(start : f32, p : i32, bin : f32, i : i32, grid : i32) -> f32 {
  return start + f32(p) * bin + (f32(i) + 0.5) * bin / f32(grid);
}
`;

const UNIFORMS = 'spatialScale : f32, samplingRatio : i32, aligned : i32,';

function optionUniforms(a: RoIAlignAttrs): Array<{ type: string; data: number[] }> {
  return [
    { type: 'float32', data: [a.spatialScale] },
    { type: 'int32', data: [a.samplingRatio] },
    { type: 'int32', data: [a.aligned ? 1 : 0] },
  ];
}

class RoIAlignProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'ssmvRoIAlignForward';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames = ['feat', 'rois'];
  uniforms = UNIFORMS;
  workgroupSize = WORKGROUP;
  size = true;

  constructor(outShape: number[]) {
    this.outputShape = outShape;
    this.dispatchLayout = webgpu_util.flatDispatchLayout(outShape);
    this.dispatch = webgpu_util.computeDispatch(this.dispatchLayout, outShape, this.workgroupSize);
  }

  getUserCode(): string {
    return `${GEOMETRY_WGSL}
fn main(index : i32) {
  if (index >= uniforms.size) { return; }
  let N = uniforms.featShape[0];
  let H = uniforms.featShape[1];
  let W = uniforms.featShape[2];
  let C = uniforms.featShape[3];
  let PH = uniforms.outShape[1];
  let PW = uniforms.outShape[2];
  let c = index % C;
  let pw = (index / C) % PW;
  let ph = (index / (C * PW)) % PH;
  let r = index / (C * PW * PH);
  let g = roiGeom(r, N, H, W, C, PH, PW);
  var acc = 0.0;
  if (g.valid) {
    for (var iy = 0; iy < g.gh; iy++) {
      let y = coordAt(g.sy, ph, g.bh, iy, g.gh);
      for (var ix = 0; ix < g.gw; ix++) {
        let x = coordAt(g.sx, pw, g.bw, ix, g.gw);
        let s = sampleCorners(y, x, H, W);
        if (s.ok) {
          let b = g.base + c;
          acc += s.w.x * feat[b + s.p.x * C] + s.w.y * feat[b + s.p.y * C] + s.w.z * feat[b + s.p.z * C] + s.w.w * feat[b + s.p.w * C];
        }
      }
    }
  }
  setOutputAtIndex(index, acc * g.inv * select(0.0, 1.0, g.valid));
}
`;
  }
}

class RoIAlignGradProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'ssmvRoIAlignBackward';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames = ['dy', 'rois'];
  uniforms = `${UNIFORMS} dySize : i32,`;
  workgroupSize = WORKGROUP;
  atomic = true;

  constructor(xShape: number[], dyShape: number[]) {
    this.outputShape = xShape;
    this.dispatchLayout = webgpu_util.flatDispatchLayout(dyShape);
    this.dispatch = webgpu_util.computeDispatch(this.dispatchLayout, dyShape, this.workgroupSize);
  }

  getUserCode(): string {
    return `${GEOMETRY_WGSL}
fn addTo(i : i32, v : f32) {
  var old = atomicLoad(&result[i]);
  loop {
    let res = atomicCompareExchangeWeak(&result[i], old, bitcast<i32>(bitcast<f32>(old) + v));
    if (res.exchanged) { break; }
    old = res.old_value;
  }
}

fn main(index : i32) {
  if (index >= uniforms.dySize) { return; }
  let N = uniforms.outShape[0];
  let H = uniforms.outShape[1];
  let W = uniforms.outShape[2];
  let C = uniforms.outShape[3];
  let PH = uniforms.dyShape[1];
  let PW = uniforms.dyShape[2];
  let c = index % C;
  let pw = (index / C) % PW;
  let ph = (index / (C * PW)) % PH;
  let r = index / (C * PW * PH);
  let g = roiGeom(r, N, H, W, C, PH, PW);
  if (!g.valid) { return; }
  let gy = dy[index] * g.inv;
  if (gy == 0.0) { return; }
  let b = g.base + c;
  for (var iy = 0; iy < g.gh; iy++) {
    let y = coordAt(g.sy, ph, g.bh, iy, g.gh);
    for (var ix = 0; ix < g.gw; ix++) {
      let x = coordAt(g.sx, pw, g.bw, ix, g.gw);
      let s = sampleCorners(y, x, H, W);
      if (s.ok) {
        if (s.w.x != 0.0) { addTo(b + s.p.x * C, gy * s.w.x); }
        if (s.w.y != 0.0) { addTo(b + s.p.y * C, gy * s.w.y); }
        if (s.w.z != 0.0) { addTo(b + s.p.z * C, gy * s.w.z); }
        if (s.w.w != 0.0) { addTo(b + s.p.w * C, gy * s.w.w); }
      }
    }
  }
}
`;
  }
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };

function forwardWebgpu({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const be = backend as WebgpuBackendLike;
  const a = attrs as unknown as RoIAlignAttrs;
  const { x, rois } = inputs as Record<string, TensorInfo>;
  const program = new RoIAlignProgram([rois.shape[0], a.pooledH, a.pooledW, x.shape[3]]);
  return be.runWebGPUProgram(program, [x, rois], 'float32', optionUniforms(a));
}

function backwardWebgpu({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const be = backend as WebgpuBackendLike;
  const a = attrs as unknown as RoIAlignGradAttrs;
  const { dy, rois } = inputs as Record<string, TensorInfo>;
  // dx starts at zero: tfjs' own Fill kernel of this backend (as its UnsortedSegmentSum does)
  const fill = tf.getKernel('Fill', 'webgpu');
  if (!fill) throw new Error('roiAlign(webgpu) backward: the webgpu Fill kernel is not registered');
  const dx = fill.kernelFunc({ inputs: {}, backend: backend as tf.KernelBackend, attrs: { shape: [...a.xShape], value: 0, dtype: 'float32' } }) as TensorInfo;
  const dySize = tf.util.sizeFromShape(dy.shape);
  if (dySize === 0 || tf.util.sizeFromShape(a.xShape) === 0) return dx;
  const program = new RoIAlignGradProgram([...a.xShape], dy.shape);
  return be.runWebGPUProgram(program, [dy, rois], 'float32', [...optionUniforms(a), { type: 'int32', data: [dySize] }], dx);
}

export function registerWebgpuKernels(): void {
  tf.registerKernel({ kernelName: ROI_ALIGN_KERNEL, backendName: 'webgpu', kernelFunc: forwardWebgpu as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: ROI_ALIGN_GRAD_KERNEL, backendName: 'webgpu', kernelFunc: backwardWebgpu as unknown as tf.KernelFunc });
}
