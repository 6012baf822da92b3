// Child-process entry of the process worker pool (pool-process.ts). Like entry.mjs for threads: the
// parent strips tsx from execArgv (it may have been registered through the API, as bin/ssmv.mjs
// does, which a child would not inherit), and this plain-JS shim registers tsx before importing
// the TypeScript child.
import { register } from 'tsx/esm/api';

register();
await import('./child.ts');
