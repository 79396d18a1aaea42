// `peer-rendezvous wait` as separate processes on 127.33.x.y, against Knot (a DNS server nobody here wrote).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { freePort } from '../helpers/job.js';
import { type KnotServer, startKnot } from '../helpers/knot.js';

const BLOCK = 33;
const ip = (i: number, gen = 0) => `127.${BLOCK}.${gen}.${i + 1}`;
const podName = (i: number) => `example-job-${i}.headless-svc.default.svc`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let knot: KnotServer;
let dir: string;
const children: ChildProcess[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  knot = await startKnot({ zone: 'cluster.local', ttl: 5 });
  dir = mkdtempSync(join(tmpdir(), 'rdv-wait-'));
});
afterAll(async () => {
  await knot?.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  // Start each test from an empty zone (names differ per test anyway through the port-specific addresses).
  await knot.update([
    ...[0, 1, 2].map((i) => ({ op: 'delete' as const, name: podName(i), type: 'A' })),
    { op: 'delete' as const, name: 'headless-svc.default.svc', type: 'A' },
  ]);
});

/** Publish pod i at generation `gen`: its own A record and one more A record for the Service name. */
async function publish(i: number, gen = 0): Promise<void> {
  await knot.update([
    { op: 'add', name: podName(i), type: 'A', value: ip(i, gen) },
    { op: 'add', name: 'headless-svc.default.svc', type: 'A', value: ip(i, gen) },
  ]);
}

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  readyFile: string;
}

let runCount = 0;

/** Every run ends with exit 0 (a failure shows every run's stderr). */
async function expectAllExitZero(runs: readonly Run[]): Promise<Awaited<Run['done']>[]> {
  const results = await Promise.all(runs.map((r) => r.done));
  expect(
    results.map((r) => r.code),
    results.map((r) => r.stderr).join('\n'),
  ).toEqual(runs.map(() => 0));
  return results;
}

function startWait(
  i: number,
  port: number,
  opts: { gen?: number; args?: string[]; n?: number; env?: Record<string, string> } = {},
): Run {
  const gen = opts.gen ?? 0;
  // A counter, not only the port: freePort() may hand out a port an earlier test of this file used.
  const readyFile = join(dir, `ready-${port}-${i}-${gen}-${++runCount}.json`);
  const child = spawn(
    process.execPath,
    [
      BIN,
      'wait',
      '--completions',
      String(opts.n ?? 3),
      '--hostname',
      `example-job-${i}`,
      '--subdomain',
      'headless-svc',
      '--namespace',
      'default',
      '--hosts-file',
      '/dev/null',
      '--resolv-conf',
      '/dev/null',
      '--listen',
      ip(i, gen),
      '--port',
      String(port),
      '--dns-server',
      knot.server,
      '--ready-file',
      readyFile,
      '--timeout',
      '15s',
      '--progress-interval',
      '1s',
      ...(opts.args ?? []),
    ],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', JOB_COMPLETION_INDEX: String(i), ...opts.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, done, readyFile };
}

function generation(run: Run): string {
  return JSON.parse(readFileSync(run.readyFile, 'utf8')).generation;
}

describe('wait processes against knotd', () => {
  it('three pods started together are released with one generation', async () => {
    const port = await freePort();
    for (const i of [0, 1, 2]) await publish(i);
    const runs = [0, 1, 2].map((i) => startWait(i, port));
    const results = await expectAllExitZero(runs);
    expect(new Set(runs.map(generation)).size).toBe(1);
    expect(results[1]!.stderr).toMatch(/released after .* 3 pods, generation [0-9a-f]{16}/);
  });

  it('--peer-address ip: released with no per-pod record but the coordinator’s, not even in the Service', async () => {
    const port = await freePort();
    await knot.update([{ op: 'add', name: podName(0), type: 'A', value: ip(0) }]);
    const runs = [0, 1, 2].map((i) => startWait(i, port, { args: ['--peer-address', 'ip'] }));
    const results = await expectAllExitZero(runs);
    expect(new Set(runs.map(generation)).size).toBe(1);
    for (const run of runs) {
      const ready = JSON.parse(readFileSync(run.readyFile, 'utf8'));
      expect(ready.peers.map((p: { addresses: string[] }) => p.addresses[0])).toEqual([ip(0), ip(1), ip(2)]);
    }
    expect(results[0]!.stderr).toMatch(/peer address ip/);
  });

  it('a late coordinator: members wait, then everyone is released', async () => {
    const port = await freePort();
    await publish(1);
    await publish(2);
    const members = [1, 2].map((i) => startWait(i, port));
    await sleep(1000);
    expect(members.every((m) => m.child.exitCode === null)).toBe(true);
    const coordinator = startWait(0, port);
    await sleep(200);
    await publish(0);
    await expectAllExitZero([coordinator, ...members]);
    expect(new Set([coordinator, ...members].map(generation)).size).toBe(1);
  });

  it('a member that crashes and comes back on a new address, its stale record still served', async () => {
    const port = await freePort();
    await publish(0);
    await publish(1);
    const coordinator = startWait(0, port);
    const first = startWait(1, port);
    await sleep(800);
    first.child.kill('SIGKILL');
    await first.done;
    await publish(1, 1); // the new address; the old record stays
    const again = startWait(1, port, { gen: 1 });
    await sleep(300);
    await knot.remove(podName(1), 'A', ip(1, 0));
    await publish(2);
    const last = startWait(2, port);
    await expectAllExitZero([coordinator, again, last]);
    const roster = JSON.parse(readFileSync(coordinator.readyFile, 'utf8'));
    expect(roster.peers[1].addresses[0]).toBe(ip(1, 1));
  });

  it('a coordinator restart: members rejoin the new one', async () => {
    const port = await freePort();
    await publish(0);
    await publish(1);
    const old = startWait(0, port);
    const member = startWait(1, port);
    await sleep(800);
    old.child.kill('SIGKILL');
    await old.done;
    await knot.update([
      { op: 'delete', name: podName(0), type: 'A', value: ip(0, 0) },
      { op: 'add', name: podName(0), type: 'A', value: ip(0, 1) },
    ]);
    const coordinator = startWait(0, port, { gen: 1 });
    await publish(2);
    const last = startWait(2, port);
    await expectAllExitZero([coordinator, member, last]);
    expect(JSON.parse(readFileSync(member.readyFile, 'utf8')).peers[0].addresses).toContain(ip(0, 1));
  });

  it('a foreign responder on one of the coordinator addresses is refused, the real one is joined', async () => {
    const port = await freePort();
    const rogue = createServer((s) => {
      s.on('error', () => {});
      s.write('SSH-2.0-OpenSSH_9.2\r\n');
      setTimeout(() => s.destroy(), 100);
    });
    await new Promise<void>((r) => rogue.listen(port, ip(0, 7), r));
    servers.push(rogue);
    await knot.update([{ op: 'add', name: podName(0), type: 'A', value: ip(0, 7) }]);
    for (const i of [0, 1]) await publish(i);
    const runs = [0, 1].map((i) => startWait(i, port, { n: 2 }));
    await expectAllExitZero(runs);
    expect(JSON.parse(readFileSync(runs[1]!.readyFile, 'utf8')).peers[0].addresses[0]).toBe(ip(0));
  });

  it('times out with 124, the table of missing peers, a hint, and the termination log', async () => {
    const port = await freePort();
    const log = join(dir, `termination-${port}`);
    writeFileSync(log, '');
    // Past RECORD_GRACE_MS (2 s) with nothing published, this pod's own record included: the probe's absent of
    // the coordinator's name cannot be confirmed, so the name stays unasked (at most 10 s), and says why.
    const run = startWait(1, port, { args: ['--timeout', '3500ms', '--termination-log', log] });
    const r = await run.done;
    expect(r.code, r.stderr).toBe(124);
    expect(r.stderr).toMatch(/waiting: 0 not seen yet since \d+ s \(its record does not exist yet/);
    expect(r.stderr).toMatch(/peers not ready after 3\.\d s: 1 of 3 unfinished \[RDV_ERR_TIMEOUT\]/);
    expect(r.stderr).toMatch(
      /0 {2}example-job-0\.headless-svc\.default\.svc\.cluster\.local\. {2}not seen yet since \d+ s \(its record does not exist yet \(NXDOMAIN for example-job-0\.\S+ asked with a private-use type/,
    );
    expect(r.stderr).not.toMatch(/example-job-0\.\S+ is cached until/);
    expect(r.stderr).toMatch(
      /hints:\n {2}- no peer name resolves, this pod's own included: is there a headless Service/,
    );
    const written = readFileSync(log, 'utf8');
    expect(written).toMatch(/RDV_ERR_TIMEOUT/);
    expect(Buffer.byteLength(written)).toBeLessThanOrEqual(4096);
    expect(existsSync(run.readyFile)).toBe(false);
  });

  it('exits 124 and names the token mismatch', async () => {
    const port = await freePort();
    for (const i of [0, 1]) await publish(i);
    const runs = [
      startWait(0, port, {
        n: 2,
        args: ['--timeout', '2s'],
        env: { PEER_RENDEZVOUS_TOKEN: 'alpha-0123456789abcdef' },
      }),
      startWait(1, port, { n: 2, args: ['--timeout', '2s', '--token', 'beta-0123456789abcdef'] }),
    ];
    const [c, m] = await Promise.all(runs.map((r) => r.done));
    expect(c!.code).toBe(124);
    expect(m!.code, m!.stderr).toBe(124);
    expect(m!.stderr).toMatch(/token mismatch since/);
  });

  it('SIGTERM while waiting exits 143 and releases nothing', async () => {
    const port = await freePort();
    const run = startWait(1, port);
    // Once the first line is out the handlers are in place (a fixed sleep loses the race on a loaded machine).
    const stderr: string[] = [];
    run.child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    for (let k = 0; k < 200 && !stderr.join('').includes('index 1 of 3'); k++) await sleep(25);
    await sleep(200);
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(/interrupted by SIGTERM while waiting for peers/);
    expect(existsSync(run.readyFile)).toBe(false);
  });
});
