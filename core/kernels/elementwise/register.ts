// Side-effect file: registers the fused elementwise kernels on cpu and webgpu.
import { tf } from '../../tf.ts';
import { gradCpu, rowScaleCpu, unaryCpu } from './cpu.ts';
import { elementwiseWebgpu } from './webgpu.ts';

const reg = (kernelName: string, backendName: string, kernelFunc: unknown) => tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
for (const name of ['SsmvGelu', 'SsmvSilu']) reg(name, 'cpu', unaryCpu(name));
for (const name of ['SsmvGeluGrad', 'SsmvSiluGrad']) reg(name, 'cpu', gradCpu(name));
reg('SsmvScaledResidual', 'cpu', rowScaleCpu(true));
reg('SsmvRowScale', 'cpu', rowScaleCpu(false));
for (const name of ['SsmvGelu', 'SsmvSilu', 'SsmvGeluGrad', 'SsmvSiluGrad', 'SsmvScaledResidual', 'SsmvRowScale']) reg(name, 'webgpu', elementwiseWebgpu(name));
