export { datasets } from './registry.ts';
