#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.mjs in turn (or those named on the command line), each printing a
// markdown section; writes them with the machine, Node version and date to bench/results.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
let kernel = os.release();
try {
  kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
} catch {}
const header = [
  '# Benchmark results',
  '',
  `- date: ${new Date().toISOString()}`,
  `- machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${kernel}`,
  `- node: ${process.version}`,
  '',
].join('\n');

const sections = [];
let failed = 0;
for (const file of files) {
  process.stderr.write(`bench: ${file}\n`);
  const r = spawnSync(process.execPath, [join(here, file)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) failed++;
  sections.push(r.status === 0 ? r.stdout.trim() : `## ${file}\n\nFAILED (exit ${r.status ?? r.signal})\n`);
  process.stdout.write(`${r.stdout}\n`);
}
if (only.length === 0) writeFileSync(join(here, 'results.md'), `${header}\n${sections.join('\n\n')}\n`);
process.exitCode = failed === 0 ? 0 : 1;
