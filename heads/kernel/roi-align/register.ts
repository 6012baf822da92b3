// Side-effect file: registers the RoIAlign kernels of every backend and the gradient.
import { registerCpuKernels } from './cpu.ts';
import { registerWebgpuKernels } from './webgpu.ts';
import { registerRoIAlignGradient } from './gradient.ts';

registerCpuKernels();
registerWebgpuKernels();
registerRoIAlignGradient();
