export { heads } from './registry.ts';
