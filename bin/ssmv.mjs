#!/usr/bin/env node
// Entry point of the `ssmv` command: runs the TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../cli/main.ts');
const code = await main(process.argv.slice(2));
// Dawn (webgpu) can keep the event loop alive; exit explicitly once output is flushed.
process.stdout.write('', () => process.exit(code));
