// What a shell makes of the exports: `eval` them in bash the way a user does (`eval "$(peer-rendezvous env)"`).
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/**
 * Evaluate `script` in bash (no rc files, PATH only, HOME nowhere) and return the values of the named variables
 * afterwards, as bash holds them. The test fails when bash writes to stderr or exits non-zero.
 */
export function evalInBash(script: string, names: readonly string[]): string[] {
  const r = spawnSync(
    'bash',
    [
      '--norc',
      '-c',
      `eval "$1"; for n in ${names.join(' ')}; do printf '%s\\0' "\${!n}"; done`,
      'bash',
      script,
    ],
    {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}
