// Side-effect file: registers the depthwise conv kernels on cpu and webgpu (the gradient is the op's
// tf.customGrad).
import { registerKernels } from '../kernel-util.ts';
import { dwForwardCpu, dwGradFilterCpu, dwGradInputCpu } from './cpu.ts';
import { dwForwardWebgpu, dwGradFilterWebgpu, dwGradInputWebgpu } from './webgpu.ts';

registerKernels('cpu', { SsmvDwConv: dwForwardCpu, SsmvDwConvGradInput: dwGradInputCpu, SsmvDwConvGradFilter: dwGradFilterCpu });
registerKernels('webgpu', { SsmvDwConv: dwForwardWebgpu, SsmvDwConvGradInput: dwGradInputWebgpu, SsmvDwConvGradFilter: dwGradFilterWebgpu });
