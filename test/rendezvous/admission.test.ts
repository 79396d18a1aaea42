// Admission under idle-connection attacks: real sockets on 127.36.x.y, idle clients in a child process (its
// own file-descriptor budget), the project's DNS server. The members must be released while the attack goes on.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/rendezvous/agent.js';
import { RendezvousTimeoutError } from '../../src/rendezvous/errors.js';
import { encodeFrame, FrameDecoder } from '../../src/rendezvous/frames.js';
import { PROTOCOL_VERSION } from '../../src/rendezvous/messages.js';
import { describeState } from '../../src/rendezvous/peer-state.js';
import { waitForPeers } from '../../src/rendezvous/wait.js';
import { MAX_WARNED } from '../../src/rendezvous/warn-once.js';
import { type LoopbackJob, loopbackJob, podIp } from '../helpers/job.js';

const BLOCK = 36;
const N = 5; // a coordinator and 4 members
const ATTACK_SOURCES = Array.from({ length: 8 }, (_, i) => `127.37.${i}.1`);
const CLIENTS = new URL('../helpers/idle-clients.mjs', import.meta.url).pathname;

let job: LoopbackJob | undefined;
let attacker: ChildProcess | undefined;
afterEach(async () => {
  attacker?.kill('SIGKILL');
  attacker = undefined;
  await job?.close();
  job = undefined;
});

/** The soft and hard limits on open files for processes started from here. */
function fileLimits(): { soft: number; hard: number } {
  const out = execFileSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).split('\n');
  const read = (s: string | undefined) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: read(out[0]), hard: read(out[1]) };
}

/** Start idle clients (raising their open-files limit to the hard one); resolves once all are open. */
async function startIdleClients(
  count: number,
  sources: string[],
  reconnect: boolean,
  ms: number,
  helloJob?: string,
) {
  const { hard } = fileLimits();
  expect(hard, `the idle clients need ${count + 64} open files (ulimit -Hn)`).toBeGreaterThan(count + 64);
  const child = spawn(
    'sh',
    [
      '-c',
      `ulimit -n ${Number.isFinite(hard) ? hard : 65536}; exec "$0" "$@"`,
      process.execPath,
      CLIENTS,
      podIp(BLOCK, 0),
      String(job!.port),
      String(count),
      sources.join(','),
      reconnect ? '1' : '0',
      String(ms),
      ...(helloJob === undefined ? [] : [helloJob, String(PROTOCOL_VERSION)]),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  attacker = child;
  const lines = createInterface({ input: child.stdout! });
  const seen: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      seen.push(line);
      if (line === 'ready') resolve();
    });
    child.once('exit', () =>
      reject(new Error(`idle clients exited before all were open: ${seen.join('; ')}`)),
    );
  });
  await ready;
  const exited = once(child, 'exit');
  return {
    /** Still attacking (the clients stop after `ms`, or when stopped). */
    running: () => child.exitCode === null && child.signalCode === null,
    /** Stop; resolves to `opened` connections in all, `closedByPeer` of them cut off by the coordinator. */
    finished: (async () => {
      await exited;
      const [, opened, closed] = (seen.find((l) => l.startsWith('done')) ?? 'done 0 0').split(' ');
      return { opened: Number(opened), closedByPeer: Number(closed) };
    })(),
  };
}

/** Coordinator + 4 members; members start together at `start`. Returns the delay to the last release. */
async function joinUnder(attack: (() => Promise<unknown>) | undefined) {
  job = await loopbackJob(N, BLOCK);
  for (let i = 0; i < N; i++) job.publish(i);
  const coordinatorEvents: ProgressEvent[] = [];
  const coordinator = waitForPeers(job.options(0, { onProgress: (e) => coordinatorEvents.push(e) }));
  coordinator.catch(() => {});
  await new Promise((r) => setTimeout(r, 100));
  const attacked = attack ? await attack() : undefined;
  const memberEvents: ProgressEvent[] = [];
  const start = performance.now();
  const released: number[] = [];
  const members = [1, 2, 3, 4].map((i) =>
    waitForPeers(job!.options(i, { onProgress: (e) => memberEvents.push(e) })).then((r) => {
      released.push(performance.now());
      return r;
    }),
  );
  const results = await Promise.all([coordinator, ...members]);
  return {
    results,
    delayMs: Math.max(...released) - start,
    coordinatorEvents,
    memberEvents,
    attacked,
  };
}

function expectAllReleased(results: Awaited<ReturnType<typeof joinUnder>>['results']): void {
  expect(results).toHaveLength(N);
  expect(new Set(results.map((r) => r.generation)).size).toBe(1);
}

/** Members never show a scary state for the coordinator: at most "busy, retrying" (with its cause). */
function expectNoScaryStates(events: ProgressEvent[]): void {
  const states = events.flatMap((e) => (e.type === 'peer' && e.peer.index === 0 ? [e.peer.state] : []));
  expect(states).not.toContain('protocol-error');
  for (const e of events)
    if (e.type === 'peer' && e.peer.state !== 'busy') expect(e.peer.detail).not.toMatch(/ECONNRESET/);
}

describe('admission under idle connections', () => {
  it('releases every member while 64 idle connections from 8 addresses reconnect as soon as they are cut', async () => {
    const baseline = await joinUnder(undefined);
    expectAllReleased(baseline.results);
    await job!.close();
    job = undefined;
    let attack: Awaited<ReturnType<typeof startIdleClients>> | undefined;
    const run = await joinUnder(async () => {
      attack = await startIdleClients(64, ATTACK_SOURCES, true, 25_000);
      // Past the 1 s hello deadline: the clients are cut and reconnecting when the members come.
      await new Promise((r) => setTimeout(r, 1500));
    });
    // Released while the attack goes on (it lasts 25 s, longer than the members wait), not after it stopped.
    expect(attack!.running()).toBe(true);
    attacker!.kill('SIGTERM');
    expectAllReleased(run.results);
    expectNoScaryStates(run.memberEvents);
    const warnings = run.coordinatorEvents.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    // Said once per address, never again for the same one.
    const warned = warnings.map((w) => /from (\S+) /.exec(w)?.[1]);
    expect(new Set(warned).size).toBe(warned.length);
    for (const w of warned) expect(ATTACK_SOURCES).toContain(w);
    const { opened, closedByPeer } = await attack!.finished;
    expect(closedByPeer).toBeGreaterThan(0); // the coordinator cut idle connections (shed or 1 s deadline)
    console.log(
      `admission: 64 reconnecting idle connections: members released ${run.delayMs.toFixed(0)} ms after they started (baseline ${baseline.delayMs.toFixed(0)} ms); ${opened} connections opened, ${closedByPeer} cut by the coordinator`,
    );
  }, 30_000);

  it('releases every member, never shedding one, while clients that send a hello and stall reconnect from 8 addresses', async () => {
    // Each connection sends a valid hello at once and never its `auth`: never idle, never stalled for
    // long (the coordinator cuts it first), so only the address it comes from tells it from a member.
    let attack: Awaited<ReturnType<typeof startIdleClients>> | undefined;
    const run = await joinUnder(async () => {
      attack = await startIdleClients(256, ATTACK_SOURCES, true, 25_000, `default/example-job/${N}`);
      await new Promise((r) => setTimeout(r, 1500));
    });
    expect(attack!.running()).toBe(true);
    attacker!.kill('SIGTERM');
    expectAllReleased(run.results);
    expectNoScaryStates(run.memberEvents);
    // The coordinator shed only the attacker's handshakes: every member holds one, each attacking address many.
    const warned = run.coordinatorEvents.flatMap((e) =>
      e.type === 'warning' ? [/from (\S+) /.exec(e.message)?.[1]] : [],
    );
    expect(warned.length).toBeGreaterThan(0);
    for (const w of warned) expect(ATTACK_SOURCES).toContain(w);
    const shedMembers = run.memberEvents.filter(
      (e) => e.type === 'peer' && e.peer.index === 0 && e.peer.state === 'busy',
    );
    expect(shedMembers).toEqual([]);
    const { opened, closedByPeer } = await attack!.finished;
    expect(closedByPeer).toBeGreaterThan(256); // cut and reconnecting, over and over
    console.log(
      `admission: 256 reconnecting hello-then-stall connections: members released ${run.delayMs.toFixed(0)} ms after they started; ${opened} connections opened, ${closedByPeer} cut by the coordinator`,
    );
  }, 30_000);

  it('releases every member while 2,000 idle connections from 8 addresses are held', async () => {
    let attack: Awaited<ReturnType<typeof startIdleClients>> | undefined;
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, readdirSync('/proc/self/fd').length);
    }, 5);
    const run = await joinUnder(async () => {
      attack = await startIdleClients(2000, ATTACK_SOURCES, false, 25_000);
    });
    clearInterval(sampler);
    // Released while the 2,000 connections are still held (for 25 s).
    expect(attack!.running()).toBe(true);
    attacker!.kill('SIGTERM');
    expectAllReleased(run.results);
    expectNoScaryStates(run.memberEvents);
    // The coordinator frees what it sheds at once: its open files stay far from a 1024 limit.
    expect(peak).toBeLessThan(512);
    const warnings = run.coordinatorEvents.filter((e) => e.type === 'warning');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.length).toBeLessThanOrEqual(ATTACK_SOURCES.length);
    await attack!.finished;
    console.log(
      `admission: 2,000 held idle connections: members released ${run.delayMs.toFixed(0)} ms after they started; at most ${peak} open files in this process`,
    );
  }, 30_000);

  it('sheds the oldest handshakes of an address over its cap with a busy reject, warns once, takes the member', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    job.publish(1);
    const coordinatorEvents: ProgressEvent[] = [];
    const coordinator = waitForPeers(job.options(0, { onProgress: (e) => coordinatorEvents.push(e) }));
    await new Promise((r) => setTimeout(r, 100));
    // Clients that send a hello and then stall, from the member's own address: 20, over the cap of 16.
    const stalls = Array.from({ length: 20 }, (_, k) => {
      const s = connect({ host: podIp(BLOCK, 0), port: job!.port, localAddress: podIp(BLOCK, 1) });
      s.on('error', () => {});
      const got: Record<string, unknown>[] = [];
      const decoder = new FrameDecoder(64 * 1024);
      s.on('data', (c) => got.push(...(decoder.push(c) as Record<string, unknown>[])));
      s.on('connect', () => s.write(encodeFrame(hello(`stall-${k}`))));
      return { s, got };
    });
    const busy = () => stalls.filter((x) => x.got.some((f) => f.type === 'reject' && f.code === 'busy'));
    for (let i = 0; i < 100 && busy().length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    expect(busy()).toHaveLength(4);
    // The member dials from the same address while 16 stalled handshakes are pending there: it is the
    // newest, so an old stall is shed instead, and the member is released.
    const member = await waitForPeers(job.options(1));
    expect((await coordinator).generation).toBe(member.generation);
    expect(busy().length).toBeGreaterThan(4);
    for (const { s } of stalls) s.destroy();
    const warnings = coordinatorEvents.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(warnings).toEqual([expect.stringContaining(`from ${podIp(BLOCK, 1)} (more than 16 pending`)]);
  }, 20_000);

  it('warns about at most 256 addresses it sheds from, then once "and more"', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    job.publish(1);
    const warnings: string[] = [];
    const stop = new AbortController();
    const coordinator = waitForPeers(
      job.options(0, {
        signal: stop.signal,
        onProgress: (e) => {
          if (e.type === 'warning') warnings.push(e.message);
        },
      }),
    );
    coordinator.catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    // Idle connections from 330 addresses, one each, reconnecting: over the cap of 64, each address is shed.
    const sources = Array.from({ length: 330 }, (_, k) => `127.35.${k >> 6}.${(k & 63) + 1}`);
    await startIdleClients(330, sources, true, 20_000);
    for (let i = 0; i < 200 && warnings.length <= MAX_WARNED; i++)
      await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 300)); // more sheds go on: still no more warnings
    attacker!.kill('SIGTERM');
    stop.abort();
    await expect(coordinator).rejects.toMatchObject({ code: 'RDV_ERR_ABORTED' });
    expect(warnings).toHaveLength(MAX_WARNED + 1);
    const addresses = warnings.slice(0, MAX_WARNED).map((w) => /from (\S+) /.exec(w)?.[1]);
    expect(new Set(addresses).size).toBe(MAX_WARNED);
    for (const a of addresses) expect(sources).toContain(a);
    expect(warnings.at(-1)).toMatch(
      /^shedding unauthenticated connections from more than 256 addresses \(127\.35\.\S+ and others, .*\): not said again$/,
    );
  }, 30_000);

  it('a member that is shed shows "busy, retrying" and tries again', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    job.publish(1);
    // A coordinator address that sheds every handshake, as a loaded coordinator would.
    let attempts = 0;
    const server = createServer((socket) => {
      socket.on('error', () => {});
      const decoder = new FrameDecoder(64 * 1024);
      socket.on('data', (c) => {
        for (const f of decoder.push(c) as Record<string, unknown>[]) {
          if (f.type !== 'hello') continue;
          attempts++;
          socket.end(encodeFrame({ v: 2, type: 'reject', code: 'busy', reason: 'busy (test), retry' }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(job!.port, podIp(BLOCK, 0), resolve));
    const events: ProgressEvent[] = [];
    const stop = new AbortController();
    const member = waitForPeers(job.options(1, { onProgress: (e) => events.push(e), signal: stop.signal }));
    for (let i = 0; i < 150 && attempts < 3; i++) await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await expect(member).rejects.toMatchObject({ code: 'RDV_ERR_ABORTED' });
    await new Promise((r) => server.close(r));
    expect(attempts).toBeGreaterThanOrEqual(3);
    const coordinator = events.flatMap((e) => (e.type === 'peer' && e.peer.index === 0 ? [e.peer] : []));
    expect(coordinator.map((p) => p.state)).toContain('busy');
    expect(coordinator.map((p) => p.state)).not.toContain('protocol-error');
    // Not only the last event: the abort that ends the test may cut an attempt mid-handshake.
    expect(coordinator.map((p) => describeState(p, p.since))).toContainEqual(
      expect.stringMatching(/^busy, retrying since \d+ s \(rejected by .*busy \(test\), retry\)$/),
    );
  }, 20_000);
});

describe('a coordinator address that drops every handshake', () => {
  it('times the member out with the cause of each drop in the detail and a hint naming the port', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    job.publish(1);
    // Something else on the coordinator's port: it takes the hello, then resets the connection.
    let resets = 0;
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        resets++;
        socket.resetAndDestroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(job!.port, podIp(BLOCK, 0), resolve));
    try {
      const error: unknown = await waitForPeers(job.options(1, { timeoutMs: 1500 })).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(error instanceof RendezvousTimeoutError))
        throw new Error(`expected a timeout, got ${String(error)}`);

      expect(resets).toBeGreaterThan(0);
      const coordinator = error.peers.find((p) => p.index === 0)!;
      expect(coordinator.state).toBe('busy');
      expect(coordinator.detail).toMatch(/^connection dropped during the handshake \(.*ECONNRESET.*\)$/);
      expect(error.hints).toContainEqual(
        expect.stringContaining(
          `a peer was still busy at the deadline: something else answers on port ${job.port} — another server on the port, or the coordinator is shedding connections under load/attack`,
        ),
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  }, 20_000);
});

function hello(incarnation: string) {
  return {
    v: PROTOCOL_VERSION,
    type: 'hello',
    job: 'default/example-job/2',
    index: 1,
    incarnation,
    purpose: 'join',
    nonce: 'n',
  };
}
