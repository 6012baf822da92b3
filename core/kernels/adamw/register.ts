// Side-effect file: registers the fused AdamW kernel on cpu and webgpu (no gradient: an optimizer step).
import { tf } from '../../tf.ts';
import { adamwCpu } from './cpu.ts';
import { adamwWebgpu } from './webgpu.ts';

const NAME = 'SsmvAdamW';
tf.registerKernel({ kernelName: NAME, backendName: 'cpu', kernelFunc: adamwCpu as unknown as tf.KernelFunc });
tf.registerKernel({ kernelName: NAME, backendName: 'webgpu', kernelFunc: adamwWebgpu as unknown as tf.KernelFunc });
