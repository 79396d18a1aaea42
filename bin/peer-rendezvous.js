#!/usr/bin/env node
// Thin entry point: everything lives in dist/; this only sets the exit code.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
