// Side-effect file: registers the LayerNorm kernels on cpu and webgpu (the gradient is the op's
// tf.customGrad, which calls the backward kernel).
import { tf } from '../../tf.ts';
import { layerNormCpu, layerNormGradCpu } from './cpu.ts';
import { layerNormGradWebgpu, layerNormWebgpu } from './webgpu.ts';

const k = (kernelName: string, backendName: string, kernelFunc: unknown) => tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
k('SsmvLayerNorm', 'cpu', layerNormCpu);
k('SsmvLayerNormGrad', 'cpu', layerNormGradCpu);
k('SsmvLayerNorm', 'webgpu', layerNormWebgpu);
k('SsmvLayerNormGrad', 'webgpu', layerNormGradWebgpu);
