#!/usr/bin/env node
// Thin entry point: everything lives in dist/; this only sets the exit code.
import module from 'node:module';

// Cache compiled code between runs (Node ≥ 22.1): start-up is most of a short command's time.
module.enableCompileCache?.();
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv.slice(2));
