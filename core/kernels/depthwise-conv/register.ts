// Side-effect file: registers the depthwise conv kernels on cpu and webgpu (the gradient is the op's
// tf.customGrad).
import { tf } from '../../tf.ts';
import { dwForwardCpu, dwGradFilterCpu, dwGradInputCpu } from './cpu.ts';
import { dwForwardWebgpu, dwGradFilterWebgpu, dwGradInputWebgpu } from './webgpu.ts';

const reg = (kernelName: string, backendName: string, kernelFunc: unknown) => tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
reg('SsmvDwConv', 'cpu', dwForwardCpu);
reg('SsmvDwConvGradInput', 'cpu', dwGradInputCpu);
reg('SsmvDwConvGradFilter', 'cpu', dwGradFilterCpu);
reg('SsmvDwConv', 'webgpu', dwForwardWebgpu);
reg('SsmvDwConvGradInput', 'webgpu', dwGradInputWebgpu);
reg('SsmvDwConvGradFilter', 'webgpu', dwGradFilterWebgpu);
