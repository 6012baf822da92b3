// Side-effect file: registers the fused AdamW kernel on cpu and webgpu (no gradient: an optimizer step).
import { registerKernels } from '../kernel-util.ts';
import { adamwCpu } from './cpu.ts';
import { adamwWebgpu } from './webgpu.ts';

registerKernels('cpu', { SsmvAdamW: adamwCpu });
registerKernels('webgpu', { SsmvAdamW: adamwWebgpu });
