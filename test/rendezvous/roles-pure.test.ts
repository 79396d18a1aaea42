// The pure and clock-driven parts of the roles: a member's PeerChecks (when it may say ready), the deadline's
// timeout report and the Service watch's waits, on a ManualClock (no real time passes, no socket opens).
import { describe, expect, it } from 'vitest';
import type { DnsResult, Resolver } from '../../src/dns/types.js';
import type { AgentConfig } from '../../src/rendezvous/agent.js';
import { AgentCore } from '../../src/rendezvous/agent-core.js';
import { RendezvousTimeoutError } from '../../src/rendezvous/errors.js';
import { PeerChecks } from '../../src/rendezvous/mesh-probe.js';
import type { PeerReport } from '../../src/rendezvous/peer-state.js';
import { deadlineReached } from '../../src/rendezvous/report.js';
import { ManualClock } from '../helpers/manual-clock.js';

describe('PeerChecks (a member’s view of its peers)', () => {
  const intro = (index: number, epoch: number, incarnation = `i${index}`) => ({
    index,
    epoch,
    address: `10.0.0.${index}`,
    incarnation,
  });

  it('star: ready at once, at epoch 0, once', () => {
    const c = new PeerChecks({ total: 4, self: 2, mesh: false });
    expect(c.introduce(intro(1, 1))).toBeUndefined();
    expect(c.takeReady()).toBe(0);
    expect(c.takeReady()).toBeUndefined();
  });

  it('mesh: ready only once every other member is introduced and verified, at the highest epoch, once per epoch', () => {
    const c = new PeerChecks({ total: 4, self: 2, mesh: true });
    expect(c.takeReady()).toBeUndefined();
    const p1 = c.introduce(intro(1, 2))!;
    expect(c.takeReady()).toBeUndefined();
    const p3 = c.introduce(intro(3, 3))!;
    expect(c.verified(p1)).toBe(true);
    expect(c.takeReady()).toBeUndefined(); // 3 not verified yet
    expect(c.verified(p3)).toBe(true);
    expect(c.takeReady()).toBe(3);
    expect(c.takeReady()).toBeUndefined();
    // A restarted peer is introduced again: its old check is stopped and no longer counts.
    const again = c.introduce(intro(3, 5, 'new'))!;
    expect(p3.stop.signal.aborted).toBe(true);
    expect(c.verified(p3)).toBe(false);
    expect(c.takeReady()).toBeUndefined();
    expect(c.verified(again)).toBe(true);
    expect(c.takeReady()).toBe(5);
  });

  it('mesh: ignores introductions of itself, of the coordinator and of indexes outside the job', () => {
    const c = new PeerChecks({ total: 3, self: 1, mesh: true });
    for (const i of [0, 1, 3, -1]) expect(c.introduce(intro(i, 1))).toBeUndefined();
    const p2 = c.introduce(intro(2, 1))!;
    c.verified(p2);
    expect(c.takeReady()).toBe(1);
    c.stopAll();
    expect(p2.stop.signal.aborted).toBe(true);
  });
});

/** A resolver whose questions are never answered (until aborted). */
const silentResolver = (): Resolver & { asked: string[] } => {
  const asked: string[] = [];
  return {
    asked,
    query: (name, _type, options) => {
      asked.push(name);
      return new Promise<DnsResult>((_, reject) =>
        options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true }),
      );
    },
    close: () => {},
  };
};

function config(clock: ManualClock, resolver: Resolver, over: Partial<AgentConfig> = {}): AgentConfig {
  return {
    index: 1,
    completions: 2,
    peers: ['job-0.svc.ns.svc.cluster.local.', 'job-1.svc.ns.svc.cluster.local.'],
    jobKey: 'ns/job',
    jobName: 'job',
    serviceName: 'svc.ns.svc.cluster.local.',
    port: 0,
    listen: '127.0.0.1',
    verify: { kind: 'star' },
    token: undefined,
    deadline: clock.now() + 10_000,
    resolver,
    signal: new AbortController().signal,
    onProgress: undefined,
    handshakeTimeoutMs: 1000,
    releaseGraceMs: 100,
    releasedAfterMs: 0,
    clock,
    random: () => 0.5,
    ...over,
  };
}

describe('the deadline on an injected clock', () => {
  it('rejects with the timeout report at the deadline, not a tick before (a diagnostic that got no answer is not waited for)', async () => {
    const clock = new ManualClock();
    const resolver = silentResolver();
    const core = new AgentCore(config(clock, resolver));
    const peer: PeerReport = {
      index: 0,
      fqdn: 'job-0.svc.ns.svc.cluster.local.',
      state: 'unknown',
      detail: '',
      since: clock.now(),
      seenBy: 'self',
    };
    const { promise } = deadlineReached(core, () => [peer]);
    let error: unknown;
    promise.catch((e: unknown) => {
      error = e;
    });
    await clock.advance(9_000 - 1);
    expect(resolver.asked).toEqual([]);
    await clock.advance(1);
    // One second before the deadline: the diagnostic look at this pod's record, through the Service's name.
    expect(resolver.asked).toContain('svc.ns.svc.cluster.local.');
    await clock.advance(1_000 - 1);
    expect(error).toBeUndefined();
    await clock.advance(1);
    expect(error).toBeInstanceOf(RendezvousTimeoutError);
    const e = error as RendezvousTimeoutError;
    expect(e.code).toBe('RDV_ERR_TIMEOUT');
    expect(e.waitedMs).toBe(10_000);
    // The Service's question was never answered: the never-seen peer is shown as a DNS timeout, not "unknown".
    expect(e.peers.map((p) => [p.index, p.state, p.detail])).toEqual([
      [0, 'dns-timeout', 'question unanswered'],
    ]);
    await core.shutdown();
  });

  it('cancel() leaves no timer behind and never rejects', async () => {
    const clock = new ManualClock();
    const core = new AgentCore(config(clock, silentResolver()));
    const { promise, cancel } = deadlineReached(core, () => []);
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    expect(clock.pending).toBe(2);
    cancel();
    expect(clock.pending).toBe(0);
    await clock.advance(60_000);
    expect(settled).toBe(false);
    await core.shutdown();
  });
});

describe('ServiceWatch.next on an injected clock', () => {
  it('resolves at `until`, or earlier at a poke, or at once on abort; its timer goes with it', async () => {
    const clock = new ManualClock();
    const core = new AgentCore(config(clock, silentResolver()));
    let woke = 0;
    core.service.next(clock.now() + 500, new AbortController().signal).then(() => woke++);
    await clock.advance(499);
    expect(woke).toBe(0);
    await clock.advance(1);
    expect(woke).toBe(1);
    core.service.next(clock.now() + 500, new AbortController().signal).then(() => woke++);
    await clock.advance(10);
    core.service.poke();
    await clock.settle();
    expect(woke).toBe(2);
    expect(clock.pending).toBe(0);
    const ac = new AbortController();
    core.service.next(clock.now() + 500, ac.signal).then(() => woke++);
    ac.abort();
    await clock.settle();
    expect(woke).toBe(3);
    expect(clock.pending).toBe(0);
    await core.shutdown();
  });
});

describe('waitForPeers with an injected clock', () => {
  it('its deadline is the clock’s: a 60 s timeout ends when the clock has moved 60 s, with no real minute passing', async () => {
    const { waitForPeers } = await import('../../src/rendezvous/wait.js');
    const { freePort } = await import('../helpers/job.js');
    const clock = new ManualClock();
    const started = Date.now();
    let error: unknown;
    const done = waitForPeers(
      {
        peers: '127.0.0.1,127.0.0.2',
        index: 0,
        listen: '127.0.0.1',
        port: await freePort(),
        timeoutMs: 60_000,
        releasedAfterMs: 0,
      },
      { clock },
    ).catch((e: unknown) => {
      error = e;
    });
    await clock.advance(59_000);
    expect(error).toBeUndefined();
    await clock.advance(1_000);
    await done;
    expect(error).toBeInstanceOf(RendezvousTimeoutError);
    expect((error as RendezvousTimeoutError).waitedMs).toBe(60_000);
    expect((error as RendezvousTimeoutError).peers.map((p) => p.index)).toEqual([1]);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
