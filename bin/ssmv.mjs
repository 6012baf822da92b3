#!/usr/bin/env node
// Entry point of the `ssmv` command: runs the TypeScript sources through tsx's loader.
// No UV_THREADPOOL_SIZE here: Node has already started libuv's pool (its ESM loader reads this
// file through it), so a value set now never takes effect. Data worker processes get theirs in
// their environment at fork (datasets/worker/pool-process.ts); for worker threads, set it in the
// environment that starts node.
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../cli/main.ts');
const code = await main(process.argv.slice(2));
// Dawn (webgpu) can keep the event loop alive; exit explicitly once output is flushed.
process.stdout.write('', () => process.exit(code));
