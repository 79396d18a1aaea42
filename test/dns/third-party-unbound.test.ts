// A real caching resolver (Debian unbound) in front of real Knot, configured like CoreDNS' cache: what a pod in
// a cluster sees. A name asked before its record exists stays NXDOMAIN for min(SOA TTL, MINIMUM, cap) even
// though the authoritative server has it; positive answers are kept too. Short caps keep the test bounded.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsClient } from '../../src/dns/client.js';
import { parseReplyLog, parseUnboundStats, startUnbound, unboundConfig } from '../../src/simulate/unbound.js';
import { until } from '../helpers/proc.js';
import { type CachedKnot, startCachedKnot } from '../helpers/unbound.js';
import { dig } from './server-helpers.js';

const NAME = 'job-1.workers.default.svc.cluster.local';
// Long enough that a knsupdate and a dig in between (subprocesses, on a loaded machine) finish inside it.
const CAP = 6;

let world: CachedKnot | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const at = (server: { address: string; port: number }) => ({ host: server.address, port: server.port });
/** dig with recursion desired (a stub asks a resolver that way). */
const ask = (server: { address: string; port: number }, name: string, type = 'A') =>
  dig(at(server), name, type, ['+recurse']);

/** Ask every 200 ms until `done` or `ms` passed; the answers seen, in order. */
async function pollUntil(
  server: { address: string; port: number },
  done: (status: string) => boolean,
  ms: number,
): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + ms;
  for (let i = 0; i < 100 && Date.now() < deadline; i++) {
    const r = await ask(server, `${NAME}.`);
    seen.push(r.status);
    if (done(r.status)) break;
    await sleep(200);
  }
  return seen;
}

describe('unbound in front of Knot (CoreDNS-like cache)', () => {
  it('serves a cached NXDOMAIN after the record was added, counting the SOA TTL down, then the record', async () => {
    world = await startCachedKnot({ cacheSeconds: CAP });
    const first = await ask(world.cache, `${NAME}.`);
    expect(first.status).toBe('NXDOMAIN');
    expect(first.flags).toContain('ra');
    // SOA MINIMUM = the zone TTL = the cap.
    expect(first.authority.map((r) => r.type)).toEqual(['SOA']);
    expect(first.authority[0]!.ttl).toBeLessThanOrEqual(CAP);
    await world.knot.add(`${NAME}.`, 'A', '10.244.1.9');
    // Knot has it now …
    expect((await dig(at(world.knot), `${NAME}.`)).answer.map((r) => r.data)).toEqual(['10.244.1.9']);
    // … the cache still denies it, and the project's client reads how long from the SOA.
    const cached = await ask(world.cache, `${NAME}.`);
    expect(cached.status).toBe('NXDOMAIN');
    const client = new DnsClient({ servers: [at(world.cache)], timeoutMs: 1_000, attempts: 1 });
    try {
      const r = await client.query(`${NAME}.`, 'A');
      expect(r.kind).toBe('nxdomain');
      expect(r.kind === 'nxdomain' ? r.negativeTtl : -1).toBeLessThanOrEqual(CAP);
      const seen = await pollUntil(world.cache, (s) => s === 'NOERROR', (CAP + 5) * 1000);
      expect(seen.at(-1)).toBe('NOERROR');
      const after = await client.query(`${NAME}.`, 'A');
      expect(
        after.kind === 'records' ? after.records.map((x) => ('address' in x ? x.address : x.target)) : [],
      ).toEqual(['10.244.1.9']);
    } finally {
      await client.close();
    }
    const stats = world.cache.stats();
    expect(stats.queries).toBeGreaterThanOrEqual(5);
    expect(stats.cacheHits).toBeGreaterThanOrEqual(2);
    expect(stats.byRcode.NXDOMAIN).toBeGreaterThanOrEqual(3);
  });

  it('keeps a positive answer after the record changed, then asks Knot again', async () => {
    world = await startCachedKnot({
      cacheSeconds: CAP,
      records: [{ name: `${NAME}.`, type: 'A', value: '10.0.0.1' }],
    });
    const first = await ask(world.cache, `${NAME}.`);
    expect(first.answer.map((r) => r.data)).toEqual(['10.0.0.1']);
    expect(first.answer[0]!.ttl).toBeLessThanOrEqual(CAP);
    await world.knot.update([
      { op: 'delete', name: `${NAME}.`, type: 'A' },
      { op: 'add', name: `${NAME}.`, type: 'A', value: '10.0.0.2' },
    ]);
    expect((await ask(world.cache, `${NAME}.`)).answer.map((r) => r.data)).toEqual(['10.0.0.1']);
    const deadline = Date.now() + (CAP + 5) * 1000;
    let data: string[] = [];
    for (let i = 0; i < 100 && Date.now() < deadline; i++) {
      data = (await ask(world.cache, `${NAME}.`)).answer.map((r) => r.data);
      if (data[0] === '10.0.0.2') break;
      await sleep(200);
    }
    expect(data).toEqual(['10.0.0.2']);
  });

  it('refuses names outside the zone (nothing leaves the test world) and flush() forgets the zone', async () => {
    world = await startCachedKnot({ cacheSeconds: 30, ttl: 30 });
    expect((await ask(world.cache, 'example.com.')).status).toBe('REFUSED');
    expect((await ask(world.cache, `${NAME}.`)).status).toBe('NXDOMAIN');
    await world.knot.add(`${NAME}.`, 'A', '10.244.1.9');
    expect((await ask(world.cache, `${NAME}.`)).status).toBe('NXDOMAIN');
    world.cache.flush();
    expect((await ask(world.cache, `${NAME}.`)).answer.map((r) => r.data)).toEqual(['10.244.1.9']);
  });

  it('logs which client it told what (logReplies): the denial, then the record, per client address', async () => {
    world = await startCachedKnot({ cacheSeconds: 30, ttl: 30, logReplies: true });
    expect((await ask(world.cache, `${NAME}.`)).status).toBe('NXDOMAIN');
    await world.knot.add(`${NAME}.`, 'A', '10.244.1.9');
    world.cache.flush();
    expect((await ask(world.cache, `${NAME}.`)).status).toBe('NOERROR');
    expect((await ask(world.cache, 'example.com.')).status).toBe('REFUSED');
    // unbound writes each reply as it sends it; allow it a moment to reach the file.
    const cache = world.cache;
    const replies = await until(
      'three replies in the log',
      () => {
        const logged = cache.replies();
        return logged.length >= 3 && logged;
      },
      2_000,
    );
    expect(replies.map((r) => `${r.name} ${r.type} ${r.rcode}`)).toEqual([
      `${NAME}. A NXDOMAIN`,
      `${NAME}. A NOERROR`,
      'example.com. A REFUSED',
    ]);
    // dig asks from loopback.
    for (const r of replies) expect(r.client).toMatch(/^127\./);
  });

  it('reads its reply log: reply lines only, whatever else the log holds', () => {
    const log = [
      '[1796393748] unbound[27395:0] info: start of service (unbound 1.17.1).',
      '[1796393748] unbound[27395:0] info: 10.244.1.3 headless-svc.default.svc.cluster.local. A IN NXDOMAIN 0.000861 0 131',
      '[1796393748] unbound[27395:0] info: 10.244.1.3 job-1.headless-svc.default.svc.cluster.local. TYPE65280 IN NXDOMAIN 0.000000 1 131',
      '[1796393748] unbound[27395:0] info: fd00::5 . NS IN REFUSED 0.000000 1 17',
      '[1796393749] unbound[27395:0] notice: something else IN NXDOMAIN',
      '',
    ].join('\n');
    expect(parseReplyLog(log)).toEqual([
      { client: '10.244.1.3', name: 'headless-svc.default.svc.cluster.local.', type: 'A', rcode: 'NXDOMAIN' },
      {
        client: '10.244.1.3',
        name: 'job-1.headless-svc.default.svc.cluster.local.',
        type: 'TYPE65280',
        rcode: 'NXDOMAIN',
      },
      { client: 'fd00::5', name: '.', type: 'NS', rcode: 'REFUSED' },
    ]);
    expect(parseReplyLog('')).toEqual([]);
  });

  it('writes a config without chroot, daemon, validation or prefetch, and rejects bad caps', async () => {
    const conf = unboundConfig({
      address: '10.244.0.10',
      port: 53,
      upstream: { address: '10.244.0.10', port: 5300 },
      cacheSeconds: 30,
      negativeCacheSeconds: 5,
      dir: '/tmp/x',
    });
    for (const line of [
      'interface: 10.244.0.10@53',
      'do-daemonize: no',
      'chroot: ""',
      'username: ""',
      'module-config: "iterator"',
      'cache-min-ttl: 5', // CoreDNS' MINTTL
      'cache-max-ttl: 30',
      'cache-max-negative-ttl: 5',
      'prefetch: no',
      'serve-expired: no',
      'stub-addr: 10.244.0.10@5300',
      'stub-first: no',
      'local-zone: "." refuse',
      'local-zone: "cluster.local." transparent',
      'logfile: ""',
    ]) {
      expect(conf).toContain(line);
    }
    expect(conf).not.toContain('log-replies');
    const logging = unboundConfig({
      address: '10.244.0.10',
      port: 53,
      upstream: { address: '10.244.0.10', port: 5300 },
      cacheSeconds: 30,
      dir: '/tmp/x',
      logReplies: true,
    });
    expect(logging).toContain('logfile: "/tmp/x/replies.log"');
    expect(logging).toContain('log-replies: yes');
    await expect(
      startUnbound({
        address: '127.0.0.1',
        port: 1,
        upstream: { address: '127.0.0.1', port: 2 },
        cacheSeconds: 0,
      }),
    ).rejects.toThrow(/unbound cacheSeconds 0 is invalid: expected an integer number of seconds 1–86400/);
    expect(
      parseUnboundStats(
        'total.num.queries=9\ntotal.num.cachehits=6\ntotal.num.cachemiss=3\nnum.answer.rcode.NXDOMAIN=2\nnum.answer.rcode.SERVFAIL=0\ntime.now=1.5\n',
      ),
    ).toEqual({ queries: 9, cacheHits: 6, cacheMisses: 3, byRcode: { NXDOMAIN: 2 } });
  });
});
