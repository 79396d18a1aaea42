// `simulate` end to end: real child processes of the built CLI on loopback, the project's DNS, faults,
// the summary and the exit code, Ctrl-C leaving nothing behind. (Uses dist/: npm run build first.)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventTime, parseDnsCache, parseFaults } from '../../src/simulate/faults.js';
import { listNetns } from '../../src/simulate/netns-teardown.js';
import { requireNetns } from '../e2e/root.js';
import { BIN, runBin, runCli } from '../helpers/cli.js';

const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** Processes whose command line mentions `marker` (the simulated pods carry their job name in --hostname). */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {}
  }
  return found.filter((pid) => pid !== process.pid);
}

describe('simulate options', () => {
  it('parses faults and names the flag of a bad value', () => {
    const f = parseFaults(
      { startDelay: ['2=1.5s'], restart: ['1@2s'], kill: '0@500ms', dnsDrop: 0.25, publishDelay: '0' },
      3,
    );
    expect([...f.startDelays]).toEqual([[2, 1500]]);
    expect(f.restarts).toEqual([{ index: 1, atMs: 2000, after: 'start' }]);
    expect(f.kills).toEqual([{ index: 0, atMs: 500, after: 'start' }]);
    // Timed from the release (every pod released once), the same syntax otherwise.
    const r = parseFaults({ restart: ['2@released+500ms', '0@released+0'], kill: '1@released+2s' }, 3);
    expect(r.restarts).toEqual([
      { index: 2, atMs: 500, after: 'release' },
      { index: 0, atMs: 0, after: 'release' },
    ]);
    expect(r.kills).toEqual([{ index: 1, atMs: 2000, after: 'release' }]);
    expect(eventTime(r.kills[0]!)).toBe('released + 2.0 s');
    expect(() => parseFaults({ restart: ['1@released+soon'] }, 3)).toThrow(/flag --restart 1@released\+soon/);
    expect(() => parseFaults({ restart: ['1@release+1s'] }, 3)).toThrow(/--restart 1@release\+1s/);
    expect(f.dnsDrop).toBe(0.25);
    expect(f.publishDelayMs).toBe(0);
    expect(() => parseFaults({ startDelay: ['3=1s'] }, 3)).toThrow(
      /--start-delay "3=1s": pod index "3" is not one of 0-2/,
    );
    expect(() => parseFaults({ restart: ['1-2s'] }, 3)).toThrow(/--restart "1-2s" is not <index>@<time>/);
    expect(() => parseFaults({ dnsServfail: 2 }, 3)).toThrow(
      /--dns-servfail "2" is not a ratio: expected a number from 0 to 1/,
    );
  });

  it('parses --dns-cache as whole seconds, off by default, naming the flag of a bad value', async () => {
    expect(parseFaults({}, 3).dnsCacheSeconds).toBeUndefined();
    expect(parseFaults({ dnsCache: '30s' }, 3).dnsCacheSeconds).toBe(30);
    expect(parseDnsCache('1m')).toBe(60);
    expect(parseDnsCache('5')).toBe(5);
    expect(parseDnsCache('off')).toBeUndefined();
    expect(parseDnsCache('0')).toBeUndefined();
    expect(() => parseDnsCache('1500ms')).toThrow(
      /--dns-cache "1500ms" is invalid: expected whole seconds from 1s to 1h \(or off\), e.g. 30s/,
    );
    expect(() => parseDnsCache('2h')).toThrow(/--dns-cache "2h" is invalid/);
    expect(() => parseDnsCache('soon')).toThrow(/--dns-cache/);
    const bad = await runCli(['simulate', '-n', '2', '--dns-cache', '250ms']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--dns-cache "250ms" is invalid/);
  });

  it('requires -n and rejects a command with --in-process (exit 64)', async () => {
    const missing = await runCli(['simulate']);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toMatch(/simulate needs -n <N>/);
    const both = await runCli(['simulate', '-n', '2', '--in-process', '--', 'true']);
    expect(both.code).toBe(64);
    expect(both.stderr).toMatch(/--in-process runs no workload/);
  });
});

describe('simulate on loopback', () => {
  it('releases every pod of `wait` mode and prints the summary', () => {
    const r = runBin(['simulate', '-n', '3', '--start-delay', '0=500ms'], ENV, 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/example-job-0: starting \(--start-delay 500 ms\)/);
    expect(r.stderr).toMatch(/^example-job-1 \| peer-rendezvous: released after/m);
    for (let i = 0; i < 3; i++) {
      expect(r.stderr).toMatch(
        new RegExp(`^example-job-${i}\\s+127\\.\\d+\\.1\\.\\d+\\s+[\\d.]+ m?s\\s+0$`, 'm'),
      );
    }
    expect(r.stderr).toMatch(/3\/3 released, 3\/3 exited 0/);
  });

  it('with --log-format json prints one JSON object a line: pod lines, agent logs, faults, the summary', () => {
    const r = runBin(
      [
        'simulate',
        '-n',
        '2',
        '--log-format',
        'json',
        '--start-delay',
        '1=300ms',
        '--',
        'sh',
        '-c',
        'echo "hi $PEER_INDEX"',
      ],
      ENV,
      30_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const parse = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const out = parse(r.stdout);
    const err = parse(r.stderr);
    // The workloads' own lines, wrapped.
    expect(out.map((o) => [o.pod, o.stream, o.line]).sort()).toEqual([
      ['example-job-0', 'stdout', 'hi 0'],
      ['example-job-1', 'stdout', 'hi 1'],
    ]);
    // The agents log JSON themselves (the format is passed on): merged with the pod's name.
    const released = err.filter((o) => typeof o.msg === 'string' && o.msg.startsWith('released after'));
    expect(released.map((o) => [o.pod, o.level]).sort()).toEqual([
      ['example-job-0', 'info'],
      ['example-job-1', 'info'],
    ]);
    expect(err).toContainEqual(
      expect.objectContaining({ source: 'sim', msg: expect.stringMatching(/example-job-1: starting/) }),
    );
    const summary = err.at(-1)!;
    expect(summary).toMatchObject({
      source: 'sim',
      msg: expect.stringMatching(/2\/2 released, 2\/2 exited 0/),
    });
    expect(summary.pods).toEqual([
      expect.objectContaining({ pod: 'example-job-0', exitCode: 0, releasedAfterMs: expect.any(Number) }),
      expect.objectContaining({ pod: 'example-job-1', exitCode: 0, releasedAfterMs: expect.any(Number) }),
    ]);
  });

  it('--in-process --log-format json prints the figures as one JSON object', () => {
    const r = runBin(['simulate', '-n', '4', '--in-process', '--log-format', 'json'], ENV, 30_000);
    expect(r.code, r.stderr).toBe(0);
    const figures = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(figures).toMatchObject({ released: 4, pods: 4, failed: [] });
    expect(figures.dnsQueries).toBeGreaterThan(0);
    for (const line of r.stderr.trim().split('\n')) expect(JSON.parse(line)).toMatchObject({ source: 'sim' });
  });

  it('exits with the code of the first pod that failed, and shows the fault firing', () => {
    // Records come at 1 s, so nobody can be released before the kill at 0.3 s, however fast the machine.
    const r = runBin(
      ['simulate', '-n', '3', '--publish-delay', '1s', '--kill', '2@300ms', '--timeout', '2s', '--quiet'],
      ENV,
      30_000,
    );
    expect(r.code).toBe(137);
    expect(r.stderr).toMatch(/^example-job-2\s+\S+\s+-\s+137\s+killed at 0\.3 s$/m);
    expect(r.stderr).toMatch(/^example-job-0\s+\S+\s+-\s+124$/m);
  });

  it('restarts a pod on a new address and still releases everyone', () => {
    const r = runBin(
      ['simulate', '-n', '3', '--start-delay', '2=1500ms', '--restart', '1@500ms'],
      ENV,
      30_000,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /example-job-1: killed and restarted \(--restart\); 127\.\d+\.1\.\d+ stays served for 5000 ms/,
    );
    expect(r.stderr).toMatch(/^example-job-1\s+\S+\s+[\d.]+ m?s\s+0\s+restarted at 0\.5 s$/m);
  });

  it('runs agents in one process with --in-process and prints the counters', () => {
    const r = runBin(['simulate', '-n', '20', '--in-process', '--restart', '3@100ms'], ENV, 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^in-process: 20\/20 released/m);
    expect(r.stdout).toMatch(/DNS queries: \d+/);
    expect(r.stderr).toMatch(/example-job-3: restarted on a new address \(--restart\)/);
  });

  it('stops every pod on Ctrl-C and exits 130', async () => {
    const job = `ctrlc-${randomBytes(3).toString('hex')}`;
    const child = spawn(
      process.execPath,
      [BIN, 'simulate', '-n', '3', '--job-name', job, '--start-delay', '2=60s', '--quiet'],
      { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    // Wait (bounded) until both early pods run, then interrupt.
    for (let i = 0; i < 100 && processesWith(`${job}-1`).length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(processesWith(`${job}-0`).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/\(interrupted\)/);
    expect(stderr).toMatch(new RegExp(`^${job}-2\\s+-\\s+-\\s+-\\s+not started$`, 'm'));
    expect(processesWith(job)).toEqual([]);
  });
});

describe('simulate --dns-cache', () => {
  it("on loopback: the project's server caches like CoreDNS, every pod still released, hits counted", () => {
    const r = runBin(
      [
        'simulate',
        '-n',
        '3',
        '--dns-cache',
        '3s',
        '--start-delay',
        '2=1s',
        // Names, not loopback's default addresses: the barrier checks every pod's name through the cache.
        '--peer-address',
        'fqdn',
        '--',
        'sh',
        '-c',
        'echo "H $PEER_HOSTS"',
      ],
      ENV,
      40_000,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cluster DNS 127\.\d+\.0\.53:\d+ \(caching 3 s, like CoreDNS cache\)/);
    const hits = /3\/3 released, 3\/3 exited 0, (\d+) DNS queries \((\d+) answered from the cache\)/.exec(
      r.stderr,
    );
    expect(hits, r.stderr).not.toBeNull();
    expect(Number(hits![2])).toBeGreaterThan(0);
    expect(Number(hits![2])).toBeLessThan(Number(hits![1]));
    for (let i = 0; i < 3; i++)
      expect(r.stdout).toMatch(new RegExp(`^example-job-${i} \\| H example-job-0\\.`, 'm'));
  });

  it('with --in-process: the agents ask the caching server and release', () => {
    const r = runBin(
      ['simulate', '-n', '4', '--in-process', '--dns-cache', '2s', '--start-delay', '3=500ms'],
      ENV,
      30_000,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/in-process: 4\/4 released/);
    const m = /DNS queries: (\d+) \([\d.]+ per pod, (\d+) answered from the 2 s cache\)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(0);
  });

  it('with --netns: unbound in front of the DNS in the hub namespace, stopped with the run', () => {
    requireNetns();
    const r = spawnSync(
      process.execPath,
      [BIN, 'simulate', '-n', '3', '--netns', '--dns-cache', '3s', '--start-delay', '2=1s', '--', 'true'],
      { env: ENV, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /cluster DNS 10\.244\.0\.10:53 \(unbound caching 3 s in hub namespace prdv-\d+-\w+-hub, in front of the project's server on port 5300\)/,
    );
    const hits = /3\/3 released, 3\/3 exited 0, (\d+) DNS queries \((\d+) answered from the cache\)/.exec(
      r.stderr,
    );
    expect(hits, r.stderr).not.toBeNull();
    expect(Number(hits![2])).toBeGreaterThan(0);
    expect(listNetns().filter((name) => name.startsWith(`prdv-${r.pid}-`))).toEqual([]);
    expect(processesWith(`prdv-${r.pid}-`)).toEqual([]);
  });
});

describe('simulate --netns', () => {
  it('runs pods in namespaces with their own hostnames and the DNS on port 53, and removes them', () => {
    requireNetns();
    const r = spawnSync(
      process.execPath,
      [BIN, 'simulate', '-n', '3', '--netns', '--quiet', '--', 'sh', '-c', 'echo "$(hostname) $PEER_INDEX"'],
      { env: ENV, encoding: 'utf8', timeout: 40_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    for (let i = 0; i < 3; i++)
      expect(r.stdout).toMatch(new RegExp(`^example-job-${i} \\| example-job-${i} ${i}$`, 'm'));
    expect(r.stderr).toMatch(/^example-job-0\s+10\.244\.1\.\d+\s+/m);
    expect(listNetns().filter((name) => name.startsWith(`prdv-${r.pid}-`))).toEqual([]);
  });
});
