// Build the single executable once into a temp dir, and a PATH that has a shell and coreutils but no node.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The Node 24 the build must run with (node_modules/.bin/node). */
export const NODE24 = join(ROOT, 'node_modules', '.bin', 'node');

/** Tools the node-free PATH offers (what a workload image has besides the executable). */
const TOOLS = ['sh', 'bash', 'env', 'cat', 'echo', 'true', 'false', 'sleep', 'ls', 'id', 'test'];

export interface ExeFixture {
  /** An otherwise empty directory holding only `peer-rendezvous`. */
  readonly dir: string;
  readonly exe: string;
  /** PATH for the runs: a directory of symlinks to TOOLS, no node. */
  readonly path: string;
  readonly buildOutput: string;
  cleanup(): void;
}

/** Build with scripts/build-exe.mjs, copy the result into an empty directory, make a node-free PATH. */
export function buildExeFixture(): ExeFixture {
  const root = mkdtempSync(join(tmpdir(), 'rdv-exe-test-'));
  const built = join(root, 'build', 'peer-rendezvous');
  const r = spawnSync(NODE24, [join(ROOT, 'scripts', 'build-exe.mjs'), '--out', built], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (r.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`build-exe failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
  }
  const dir = join(root, 'empty');
  mkdirSync(dir);
  const exe = join(dir, 'peer-rendezvous');
  copyFileSync(built, exe);
  rmSync(join(root, 'build'), { recursive: true, force: true });
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const tool of TOOLS) {
    for (const d of ['/usr/bin', '/bin']) {
      const target = join(d, tool);
      if (spawnSync('test', ['-x', target]).status === 0) {
        symlinkSync(target, join(bin, tool));
        break;
      }
    }
  }
  // The executable keeps its mode through copyFileSync.
  return {
    dir,
    exe,
    path: bin,
    buildOutput: r.stdout,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
