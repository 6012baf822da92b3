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

// The input gradient of dense convs (Conv2DBackpropInput, used by core/kernels/weight-grad conv2d):
// tfjs-webgpu defaults to a naive program (one thread per input element looping over every tap and
// output channel); its implicit-GEMM variant for NHWC gives the same values (checked against the cpu
// backend in tests/kernels-weight-grad.test.ts) at GEMM speed.
tf.env().set('WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE', false);
