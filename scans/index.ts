// Side-effect imports: every strategy file registers itself.
import './cross.ts';
import './bidirectional.ts';
import './zigzag.ts';
import './atrous.ts';
import './hilbert.ts';
import './multihead.ts';
import './local-bidirectional.ts';
import './window.ts';
import './multiscale.ts';
import './grouped.ts';

export { scans, type ScanStrategy, type ScanOptions } from './registry.ts';
