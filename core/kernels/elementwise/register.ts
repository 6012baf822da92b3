// Side-effect file: registers the fused elementwise kernels on cpu and webgpu (one webgpu kernel
// function per name).
import { registerKernels } from '../kernel-util.ts';
import { gradCpu, rowScaleCpu, unaryCpu } from './cpu.ts';
import { elementwiseWebgpu } from './webgpu.ts';

const cpu = {
  SsmvGelu: unaryCpu('SsmvGelu'),
  SsmvSilu: unaryCpu('SsmvSilu'),
  SsmvGeluGrad: gradCpu('SsmvGeluGrad'),
  SsmvSiluGrad: gradCpu('SsmvSiluGrad'),
  SsmvScaledResidual: rowScaleCpu(true),
  SsmvRowScale: rowScaleCpu(false),
};
registerKernels('cpu', cpu);
registerKernels('webgpu', Object.fromEntries(Object.keys(cpu).map((name) => [name, elementwiseWebgpu(name)])));
