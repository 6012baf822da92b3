// Side-effect file: registers the selective-scan kernels of every backend and the gradient.
import { registerCpuKernels } from './cpu.ts';
import { registerScanGradient } from './gradient.ts';

registerCpuKernels();
registerScanGradient();
