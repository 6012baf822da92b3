// Side-effect imports: every family file registers its variants.
import './vmamba.ts';

export { backbones, families, createModel } from './registry.ts';
