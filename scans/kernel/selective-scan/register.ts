// Side-effect file: registers the selective-scan kernels of every backend and the gradient.
import { registerCpuKernels } from './cpu.ts';
import { registerWebgpuKernels } from './webgpu.ts';
import { registerScanGradient } from './gradient.ts';

registerCpuKernels();
registerWebgpuKernels();
registerScanGradient();
