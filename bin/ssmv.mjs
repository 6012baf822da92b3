#!/usr/bin/env node
// Entry point of the `ssmv` command: runs the TypeScript sources through tsx's loader.
import { availableParallelism } from 'node:os';
// libuv sizes its thread pool on first use: set it before anything touches it, so image decoding
// (sharp) in the data loader gets ~2 threads per core.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, 2 * availableParallelism()));
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../cli/main.ts');
const code = await main(process.argv.slice(2));
// Dawn (webgpu) can keep the event loop alive; exit explicitly once output is flushed.
process.stdout.write('', () => process.exit(code));
