// Side-effect imports: every strategy file registers itself.
export { scans } from './registry.ts';
