// Side-effect imports: every family file registers its variants.
export { backbones } from './registry.ts';
