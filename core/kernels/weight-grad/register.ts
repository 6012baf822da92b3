// Side-effect file: registers the weight-gradient kernels on cpu and webgpu.
import { registerKernels } from '../kernel-util.ts';
import { columnSumCpu, convGradFilterCpu, matMulTNCpu } from './cpu.ts';
import { columnSumWebgpu, convGradFilterWebgpu, matMulTNWebgpu } from './webgpu.ts';

registerKernels('cpu', { SsmvMatMulTN: matMulTNCpu, SsmvConv2dGradFilter: convGradFilterCpu, SsmvColumnSum: columnSumCpu });
registerKernels('webgpu', { SsmvMatMulTN: matMulTNWebgpu, SsmvConv2dGradFilter: convGradFilterWebgpu, SsmvColumnSum: columnSumWebgpu });
