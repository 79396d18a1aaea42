#!/usr/bin/env node
// Write dist/cli.cjs.v8cache: V8's code cache of dist/cli.cjs taken from a mesh member after it ran, which
// bin/peer-rendezvous.js hands to V8 when it loads the bundle (see there). Node's own compile cache holds only
// what V8 compiles at load, a fraction of what a pod runs; every other function is parsed and compiled by
// every pod on its first call (~14% of the pods' CPU in a mesh of 64, bench/results.md).
//
// How: a loopback `simulate -n 3 --verify mesh` (127.x addresses only, the project's own DNS server) whose
// pods load the bundle through vm.Script and write their cache just before they exec the workload
// (PRDV_WRITE_CODE_CACHE); member 1's becomes the file, with a header line naming the build (the
// bundle's first line), the Node version and architecture it is valid for. Run by `npm run build`, so the
// Dockerfile's build gets it too; run it with the Node that will run the agent (a cache of another Node
// version is never used). A failure leaves no cache and says so: the agent then starts as before.
//
// Usage: node scripts/code-cache.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'cli.cjs');
const target = `${bundle}.v8cache`;

/** Make the cache; returns a line saying what was written, or throws saying why not. */
export function writeCodeCache() {
  const first = readFileSync(bundle, 'utf8').split('\n', 1)[0];
  const build = /^\/\/ peer-rendezvous build ([0-9a-f]+)$/.exec(first)?.[1];
  if (!build) throw new Error(`${bundle} has no build line (run scripts/bundle-cli.mjs)`);
  rmSync(target, { force: true });
  const work = mkdtempSync(join(tmpdir(), 'prdv-code-cache-'));
  try {
    const out = join(work, 'cache');
    const run = spawnSync(
      process.execPath,
      [
        join(root, 'bin', 'peer-rendezvous.js'),
        'simulate',
        '-n',
        '3',
        '--verify',
        'mesh',
        '--timeout',
        '30s',
        '--',
        'true',
      ],
      {
        env: { ...process.env, PRDV_WRITE_CODE_CACHE: out },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    if (run.status !== 0) {
      throw new Error(
        `the warm-up simulation failed (${run.error?.message ?? `exit ${run.status ?? run.signal}`}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    const data = readFileSync(`${out}-1`);
    const header = JSON.stringify({ build, node: process.version, arch: process.arch });
    writeFileSync(`${target}.tmp`, Buffer.concat([Buffer.from(`${header}\n`), data]));
    renameSync(`${target}.tmp`, target);
    return `code-cache: ${target} (${data.length} bytes, build ${build}, Node ${process.version} ${process.arch})`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${writeCodeCache()}\n`);
  } catch (error) {
    // Not fatal: without the cache the agent loads as before (Node's compile cache), only slower.
    process.stderr.write(
      `code-cache: WARNING: no code cache written, pods start slower: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
}
