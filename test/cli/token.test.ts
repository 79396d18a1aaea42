// The token as a user hands it to the real bin: never in the workload's environment or argv, from a file
// (a mounted Secret) as recommended, and never silently empty. Real agent processes on 127.53.0.x.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitForPeers } from '../../src/rendezvous/wait.js';
import { runBin, startBin } from '../helpers/cli.js';
import { type LoopbackJob, loopbackJob, podFlags } from '../helpers/job.js';

const BLOCK = 53;
const TOKEN = 'tok-5ec7e7-c0ffee';
const work = mkdtempSync(join(tmpdir(), 'rdv-token-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let job: LoopbackJob | undefined;
afterEach(async () => {
  await job?.close();
  job = undefined;
});

/** The workload of the issue: its environment, then its own argv. */
const SHOW = ['sh', '-c', 'env; echo; cat /proc/$$/cmdline | tr "\\0" " "; echo'];

/** Two pods with the given per-pod args and env, both running `command`; returns both results. */
async function pair(
  perPod: (i: number) => { args?: string[]; env?: Record<string, string> },
  command: string[] = SHOW,
) {
  job = await loopbackJob(2, BLOCK);
  for (const i of [0, 1]) job.publish(i);
  const pods = [0, 1].map((i) => {
    const { args = [], env = {} } = perPod(i);
    return startBin([...podFlags(job!, i), ...args, '--', ...command], env);
  });
  return Promise.all(pods.map((p) => p.done));
}

describe('the token and the workload', () => {
  it('PEER_RENDEZVOUS_TOKEN=… peer-rendezvous -- sh -c "env; cat /proc/$$/cmdline": no token, exec and --no-exec', async () => {
    const ended = await pair((i) => ({
      args: i === 1 ? ['--no-exec'] : [],
      env: { PEER_RENDEZVOUS_TOKEN: TOKEN, PEER_RENDEZVOUS_VERIFY: 'star' },
    }));
    for (const r of ended) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('PEER_INDEX='); // the workload ran and printed its env
      expect(r.stdout).not.toContain(TOKEN);
      // Every agent variable it consumed is gone, not only the token.
      expect(r.stdout).not.toMatch(/^PEER_RENDEZVOUS_/m);
      expect(r.stdout).toMatch(/^sh -c env; echo; cat/m);
    }
    // Exec (pod 0, not PID 1) leaves no agent behind: nothing to warn about; the supervising pod 1 warns.
    expect(ended[0]!.stderr).not.toMatch(/stays readable/);
    expect(ended[1]!.stderr).toMatch(/stays readable by the workload in \/proc\/\$PPID\/environ/);
  });

  it('--token-file: the file (with its trailing newline) and the env token are the same token; the workload sees neither', async () => {
    const file = join(work, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    const ended = await pair((i) =>
      i === 0 ? { args: ['--token-file', file] } : { env: { PEER_RENDEZVOUS_TOKEN_FILE: file } },
    );
    for (const r of ended) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain(TOKEN);
      expect(r.stdout).not.toContain('PEER_RENDEZVOUS_TOKEN_FILE');
      expect(r.stderr).not.toMatch(/visible .* cmdline/);
    }
  });

  it('--no-exec: with --token-file the supervising parent holds no token in /proc/$PPID (only the path); with env or --token it warns', async () => {
    const file = join(work, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    // The workload reads its parent's (the supervising agent's) environment and argv.
    const parent = [
      'sh',
      '-c',
      'echo "ppid $PPID"; tr "\\0" "\\n" < /proc/$PPID/environ; echo; tr "\\0" " " < /proc/$PPID/cmdline; echo',
    ];
    const ended = await pair(
      (i) =>
        i === 0
          ? { args: ['--no-exec', '--token-file', file] }
          : { args: ['--no-exec'], env: { PEER_RENDEZVOUS_TOKEN_FILE: file } },
      parent,
    );
    for (const r of ended) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(file); // it did read the parent's argv / environment: the path is there
      expect(r.stdout).toMatch(/--no-exec/);
      expect(r.stdout).not.toContain(TOKEN);
      expect(r.stderr).not.toMatch(/stays readable/);
    }
    await job!.close();
    job = undefined;
    // The same with the token in the agent's environment (pod 0) or argv (pod 1): there it is, and said.
    const leaky = await pair(
      (i) =>
        i === 0
          ? { args: ['--no-exec'], env: { PEER_RENDEZVOUS_TOKEN: TOKEN } }
          : { args: ['--no-exec', '--token', TOKEN] },
      parent,
    );
    for (const r of leaky) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(TOKEN);
    }
    expect(leaky[0]!.stderr).toMatch(
      /warning: the token from env PEER_RENDEZVOUS_TOKEN stays readable by the workload in \/proc\/\$PPID\/environ: this agent supervises it \(--no-exec\).*use --token-file/,
    );
    expect(leaky[1]!.stderr).toMatch(
      /warning: the token from flag --token stays readable by the workload in \/proc\/\$PPID\/cmdline.*use --token-file/,
    );
  });

  it('--keep-agent-env passes the variables on; --token warns that argv is visible', async () => {
    const ended = await pair((i) =>
      i === 0
        ? { args: ['--keep-agent-env'], env: { PEER_RENDEZVOUS_TOKEN: TOKEN } }
        : { args: ['--token', TOKEN] },
    );
    for (const r of ended) expect(r.code, r.stderr).toBe(0);
    expect(ended[0]!.stdout).toContain(`PEER_RENDEZVOUS_TOKEN=${TOKEN}\n`);
    expect(ended[1]!.stderr).toMatch(
      /warning: the --token value is visible .*\/proc\/<pid>\/cmdline.*--token-file/,
    );
    // After exec the workload's argv is its own: the agent's --token is gone from /proc/<pid>/cmdline.
    expect(ended[1]!.stdout).not.toContain(TOKEN);
  });

  it('a different token: both pods time out naming the mismatch (exit 124)', async () => {
    const ended = await pair((i) => ({
      // The coordinator outlives the member, so the member's last try meets it (not a closed port).
      args: ['--timeout', i === 0 ? '4s' : '2s'],
      env: { PEER_RENDEZVOUS_TOKEN: i === 0 ? TOKEN : `${TOKEN}-other` },
    }));
    for (const r of ended) expect(r.code).toBe(124);
    expect(ended[1]!.stderr).toMatch(/token mismatch since .*failed the token check/);
    for (const r of ended) expect(r.stderr).not.toContain(TOKEN);
  });

  it('env: the printed shell unsets the agent variables, so eval leaves no token behind', async () => {
    job = await loopbackJob(2, BLOCK);
    for (const i of [0, 1]) job.publish(i);
    const pods = [0, 1].map((i) =>
      startBin(['env', ...podFlags(job!, i)], { PEER_RENDEZVOUS_TOKEN: TOKEN, PEER_RENDEZVOUS_QUIET: '1' }),
    );
    const printed = await Promise.all(pods.map((p) => p.done));
    for (const r of printed) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^unset PEER_RENDEZVOUS_QUIET PEER_RENDEZVOUS_TOKEN$/m);
      const after = runShell(`${r.stdout}\nenv`, {
        PEER_RENDEZVOUS_TOKEN: TOKEN,
        PEER_RENDEZVOUS_QUIET: '1',
      });
      expect(after).toContain('PEER_INDEX=');
      expect(after).not.toContain(TOKEN);
    }
  });
});

describe('bad tokens are configuration errors (exit 78)', () => {
  const base = [
    'wait',
    '--index',
    '0',
    '--completions',
    '1',
    '--peers',
    '127.53.9.1',
    '--listen',
    '127.53.9.1',
  ];
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['--token ""', ['--token', ''], {}, /the token from flag --token is empty/],
    [
      'PEER_RENDEZVOUS_TOKEN=""',
      [],
      { PEER_RENDEZVOUS_TOKEN: '' },
      /the token from env PEER_RENDEZVOUS_TOKEN is empty/,
    ],
    [
      'an empty file',
      ['--token-file', '@empty'],
      {},
      /the token file ".*empty" from flag --token-file is empty/,
    ],
    [
      'a file of one newline',
      ['--token-file', '@newline'],
      {},
      /the token file ".*newline" from flag --token-file is empty/,
    ],
    [
      'a missing file',
      ['--token-file', '@missing'],
      {},
      /cannot read the token file ".*missing" from flag --token-file: ENOENT/,
    ],
    [
      'a directory',
      [],
      { PEER_RENDEZVOUS_TOKEN_FILE: '@dir' },
      /cannot read the token file ".*" from env PEER_RENDEZVOUS_TOKEN_FILE: EISDIR/,
    ],
    [
      'a short --token (15 bytes)',
      ['--token', 'hunter2-hunter2'],
      {},
      /the token from flag --token is 15 bytes long: expected at least 16 random bytes \(128 bits\); make one with `openssl rand -hex 16`/,
    ],
    [
      'a short PEER_RENDEZVOUS_TOKEN (multi-byte: 6 characters, 12 bytes)',
      [],
      { PEER_RENDEZVOUS_TOKEN: 'éééééé' },
      /the token from env PEER_RENDEZVOUS_TOKEN is 12 bytes long: expected at least 16/,
    ],
    [
      'a short token file (newline dropped: 7 bytes)',
      ['--token-file', '@short'],
      {},
      /the token from the token file ".*short" \(flag --token-file\) is 7 bytes long: expected at least 16 .*openssl rand -hex 16/,
    ],
    [
      'both',
      ['--token', 'a', '--token-file', '@newline'],
      {},
      /both flag --token and flag --token-file give the token/,
    ],
  ];
  it.each(cases)('%s', (_, args, env, message) => {
    const paths: Record<string, string> = {
      '@empty': join(work, 'empty'),
      '@newline': join(work, 'newline'),
      '@missing': join(work, 'missing'),
      '@dir': work,
      '@short': join(work, 'short'),
    };
    writeFileSync(paths['@short']!, 'hunter2\n');
    writeFileSync(paths['@empty']!, '');
    writeFileSync(paths['@newline']!, '\n');
    chmodSync(paths['@newline']!, 0o600);
    const sub = (v: string) => paths[v] ?? v;
    const r = runBin(
      [...base, ...args.map(sub)],
      Object.fromEntries(Object.entries(env).map(([k, v]) => [k, sub(v)])),
    );
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('[RDV_ERR_CONFIG]');
    // The error names the length, never the token.
    expect(r.stderr).not.toMatch(/hunter2|éééééé/);
  });

  it('the library refuses a short token too (RDV_ERR_CONFIG), and takes one of 16 bytes', async () => {
    job = await loopbackJob(1, BLOCK);
    job.publish(0);
    await expect(waitForPeers(job.options(0, { token: 'x'.repeat(15) }))).rejects.toMatchObject({
      code: 'RDV_ERR_CONFIG',
      message: expect.stringMatching(/^the token from option token is 15 bytes long: expected at least 16/),
    });
    const ok = await waitForPeers(job.options(0, { token: 'x'.repeat(16) }));
    expect(ok.peers).toHaveLength(1);
  });
});

function runShell(script: string, env: Record<string, string>): string {
  return execFileSync('sh', ['-c', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  });
}
