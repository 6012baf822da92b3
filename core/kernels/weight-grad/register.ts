// Side-effect file: registers the weight-gradient kernels on cpu and webgpu.
import { tf } from '../../tf.ts';
import { columnSumCpu, convGradFilterCpu, matMulTNCpu } from './cpu.ts';
import { columnSumWebgpu, convGradFilterWebgpu, matMulTNWebgpu } from './webgpu.ts';

const reg = (kernelName: string, backendName: string, kernelFunc: unknown) => tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
reg('SsmvMatMulTN', 'cpu', matMulTNCpu);
reg('SsmvConv2dGradFilter', 'cpu', convGradFilterCpu);
reg('SsmvColumnSum', 'cpu', columnSumCpu);
reg('SsmvMatMulTN', 'webgpu', matMulTNWebgpu);
reg('SsmvConv2dGradFilter', 'webgpu', convGradFilterWebgpu);
reg('SsmvColumnSum', 'webgpu', columnSumWebgpu);

