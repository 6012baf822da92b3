// Side-effect imports: every family file registers its variants.
import './vmamba.ts';
import './localvmamba.ts';
import './groupmamba.ts';
import './plainmamba.ts';
import './mambaout.ts';
import './efficientvmamba.ts';
import './msvmamba.ts';
import './vim.ts';
import './lbvim.ts';
import './mamba-yolo.ts';

export { backbones, families, createModel } from './registry.ts';
