// What a pod's agent loads on its way to the workload: N pods start at once, and each builtin loaded is paid N
// times. node:crypto (17 internal modules and the stream stack, ~3.6 ms a pod) is loaded only for a token's
// HMAC (src/random.ts). Read from the real bin: a --require hook writes process.moduleLoadList when the agent
// calls process.execve, in each pod of a loopback simulation.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/peer-rendezvous.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'prdv-start-up-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Run a 3-pod loopback mesh simulation; the builtins each pod had loaded when it exec'd, by index. */
function builtinsAtExec(name: string, args: string[]): Map<string, string[]> {
  const out = join(work, name);
  const hook = join(work, `${name}.cjs`);
  writeFileSync(
    hook,
    `const fs = require('node:fs');
const execve = process.execve;
if (typeof execve === 'function' && process.env.JOB_COMPLETION_INDEX !== undefined) {
  process.execve = function (...args) {
    fs.mkdirSync(${JSON.stringify(out)}, { recursive: true });
    fs.writeFileSync(${JSON.stringify(out)} + '/' + process.env.JOB_COMPLETION_INDEX, process.moduleLoadList.join('\\n'));
    return execve.apply(this, args);
  };
}
`,
  );
  const r = spawnSync(
    process.execPath,
    [bin, 'simulate', '-n', '3', '--verify', 'mesh', '--timeout', '30s', ...args, '--', 'true'],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_OPTIONS: `--require ${hook}` },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout + r.stderr).toContain('3/3 released, 3/3 exited 0');
  const pods = new Map<string, string[]>();
  for (const index of readdirSync(out).sort()) {
    const list = readFileSync(join(out, index), 'utf8').split('\n');
    pods.set(
      index,
      list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length)),
    );
  }
  return pods;
}

describe('builtins a pod loads before it execs the workload', () => {
  it('no node:crypto without a token; the DNS, mesh and exec builtins are there', () => {
    const pods = builtinsAtExec('plain', []);
    expect([...pods.keys()]).toEqual(['0', '1', '2']);
    for (const [index, mods] of pods) {
      expect(mods, `pod ${index}`).toEqual(expect.arrayContaining(['dgram', 'net']));
      expect(
        mods.filter((m) => m === 'crypto' || m.startsWith('internal/crypto/')),
        `pod ${index}`,
      ).toEqual([]);
    }
  });

  it('with a token, node:crypto is loaded for the HMAC (the hook sees it: the check above is not blind)', () => {
    const pods = builtinsAtExec('token', ['--token', 'a-token-of-more-than-16-bytes']);
    for (const [index, mods] of pods) expect(mods, `pod ${index}`).toContain('crypto');
  });
});
