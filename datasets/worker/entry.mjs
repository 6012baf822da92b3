// Worker-thread entry: the project runs TypeScript through tsx, and Node 20 does not pass the
// parent's tsx loader to worker threads (`execArgv: ['--import=tsx']` fails with "Unknown file
// extension .ts"), so this plain-JS shim registers tsx in the worker before importing the worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
