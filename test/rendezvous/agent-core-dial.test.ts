// AgentCore.dial with many dials in flight at once (a coordinator announcing to a 64-pod Service's addresses,
// a mesh member's probes): real loopback sockets. No listener leak warning, and the agent's signal still ends
// every dial not connected yet.
import { getEventListeners, getMaxListeners } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Resolver } from '../../src/dns/types.js';
import type { AgentConfig } from '../../src/rendezvous/agent.js';
import { AgentCore, signalListenerBound } from '../../src/rendezvous/agent-core.js';
import { systemClock } from '../../src/rendezvous/clock.js';

const noResolver: Resolver = {
  query: () => Promise.reject(new Error('no DNS in this test')),
  close: () => {},
};

function config(signal: AbortSignal): AgentConfig {
  return {
    index: 0,
    completions: 64,
    peers: Array.from({ length: 64 }, (_, i) => `job-${i}.svc.ns.svc.cluster.local.`),
    jobKey: 'ns/job',
    jobName: 'job',
    serviceName: undefined,
    port: 0,
    listen: '127.0.0.1',
    verify: { kind: 'star' },
    token: undefined,
    deadline: Date.now() + 10_000,
    resolver: noResolver,
    signal,
    onProgress: undefined,
    handshakeTimeoutMs: 2000,
    releaseGraceMs: 100,
    releasedAfterMs: 0,
    clock: systemClock,
    random: () => 0.5,
  };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function listen(): Promise<{ port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((s) => accepted.push(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { port: addr.port, accepted };
}

describe('AgentCore.dial', () => {
  it('63 dials at once add no listener per dial to the agent’s signal (the coordinator printed MaxListenersExceededWarning at N=64)', async () => {
    const { port, accepted } = await listen();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    const core = new AgentCore(config(new AbortController().signal));
    try {
      const before = getEventListeners(core.signal, 'abort').length;
      const dials = Array.from({ length: 63 }, () => core.dial('127.0.0.1', port, 4096));
      // While all 63 are in flight: not one listener more on the agent's signal.
      expect(getEventListeners(core.signal, 'abort').length).toBe(before);
      const channels = await Promise.all(dials);
      expect(channels).toHaveLength(63);
      // The signal's bound is the design's (a few listeners per pod), not Node's default of 10.
      expect(getMaxListeners(core.signal)).toBe(signalListenerBound(64));
      expect(core.stats.connections).toBe(63);
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      for (const c of channels) c.close({ kind: 'local', message: 'test done' }, true);
    } finally {
      process.off('warning', onWarning);
      for (const s of accepted) s.destroy();
      await core.shutdown();
    }
  });

  it('the agent’s signal ends the dials still connecting, and a dial after it fails at once', async () => {
    // Aborted in the same tick as the dials: none can have connected yet (traffic stays on loopback).
    const { port, accepted } = await listen();
    const abort = new AbortController();
    const core = new AgentCore(config(abort.signal));
    try {
      const dials = Array.from({ length: 12 }, () => core.dial('127.0.0.1', port, 4096));
      abort.abort(new Error('stop'));
      const settled = await Promise.allSettled(dials);
      expect(settled.every((s) => s.status === 'rejected')).toBe(true);
      expect(String((settled[0] as PromiseRejectedResult).reason)).toMatch(/aborted/);
      await expect(core.dial('127.0.0.1', port, 4096)).rejects.toThrow(/aborted/);
    } finally {
      for (const s of accepted) s.destroy();
      await core.shutdown();
    }
  });
});
