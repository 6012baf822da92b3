// Side-effect file: registers the LayerNorm kernels on cpu and webgpu (the gradient is the op's
// tf.customGrad, which calls the backward kernel).
import { registerKernels } from '../kernel-util.ts';
import { layerNormCpu, layerNormGradCpu } from './cpu.ts';
import { layerNormGradWebgpu, layerNormWebgpu } from './webgpu.ts';

registerKernels('cpu', { SsmvLayerNorm: layerNormCpu, SsmvLayerNormGrad: layerNormGradCpu });
registerKernels('webgpu', { SsmvLayerNorm: layerNormWebgpu, SsmvLayerNormGrad: layerNormGradWebgpu });
