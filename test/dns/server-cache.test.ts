// The cache mode of ClusterDnsServer (CoreDNS' `cache` in front of `kubernetes`): the pure cache on wire-form
// records, then the server over real sockets with an injected clock, checked with dig and the project's client.
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsClient } from '../../src/dns/client.js';
import { ClusterDnsServer } from '../../src/dns/server.js';
import {
  AnswerCache,
  answerKind,
  cacheSeconds,
  recordTtl,
  soaTimers,
  ttlOffset,
  withTtl,
} from '../../src/dns/server-cache.js';
import { type EncodedAnswer, emptyAnswer, encodeRecord } from '../../src/dns/server-wire.js';
import { RCODE } from '../../src/dns/types.js';
import type { ZoneRecord } from '../../src/dns/zone-types.js';
import { dig } from './server-helpers.js';

const ZONE = 'cluster.local';
const NS = 'default';
const SVC = 'workers';
const pod = (i: number) => `job-${i}.${SVC}.${NS}.svc.${ZONE}`;

const a = (name: string, ttl: number, address = '10.0.0.1'): ZoneRecord => ({
  type: 'A',
  name,
  ttl,
  address,
});
const soa = (ttl: number, minimum: number): ZoneRecord => ({
  type: 'SOA',
  name: ZONE,
  ttl,
  mname: `ns.dns.${ZONE}`,
  rname: `hostmaster.${ZONE}`,
  serial: 7,
  refresh: 7200,
  retry: 1800,
  expire: 86400,
  minimum,
});
const positive = (...records: ZoneRecord[]): EncodedAnswer => ({
  rcode: RCODE.NOERROR,
  authoritative: true,
  answers: records.map((r) => encodeRecord(r, true)),
  authority: [],
  additional: [],
});
const denial = (rcode: number, soaRecord: ZoneRecord | undefined): EncodedAnswer => ({
  rcode,
  authoritative: true,
  answers: [],
  authority: soaRecord === undefined ? [] : [encodeRecord(soaRecord, false)],
  additional: [],
});

describe('wire-form TTLs', () => {
  it('finds the TTL after a pointer owner and after a full owner name', () => {
    const pointer = encodeRecord(a(pod(0), 17), true);
    expect(ttlOffset(pointer)).toBe(2 + 4);
    expect(recordTtl(pointer)).toBe(17);
    const full = encodeRecord(a(pod(0), 4242), false);
    expect(ttlOffset(full)).toBe(pod(0).length + 2 + 4);
    expect(recordTtl(full)).toBe(4242);
    expect(ttlOffset(Buffer.from([3, 97]))).toBe(-1);
    expect(ttlOffset(Buffer.alloc(0))).toBe(-1);
  });

  it('rewrites only the TTL, in a copy, and dns-packet reads the record back (property)', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 0x7fffffff }),
        fc.integer({ min: 0, max: 0x7fffffff }),
        fc.ipV4(),
        (labels, ttl, next, address) => {
          const name = labels.join('.');
          const record = encodeRecord(a(name, ttl, address), false);
          const copy = withTtl(record, next);
          expect(recordTtl(record)).toBe(ttl);
          expect(recordTtl(copy)).toBe(next);
          // dns-packet's record codec (`answer`) is not in its types.
          const codec = (dnsPacket as unknown as { answer: { decode(b: Buffer): unknown } }).answer;
          const decoded = codec.decode(copy);
          expect(decoded).toMatchObject({ name, type: 'A', ttl: next, data: address });
          // Nothing but the 4 TTL bytes differs.
          const at = ttlOffset(record);
          expect(copy.subarray(0, at)).toEqual(record.subarray(0, at));
          expect(copy.subarray(at + 4)).toEqual(record.subarray(at + 4));
        },
      ),
    );
  });

  it('reads the SOA TTL and MINIMUM; other records are not an SOA', () => {
    expect(soaTimers(encodeRecord(soa(30, 5), false))).toEqual({ ttl: 30, minimum: 5 });
    expect(soaTimers(encodeRecord(a(pod(0), 5), false))).toBeUndefined();
  });
});

describe('what is cached and for how long (CoreDNS cache semantics)', () => {
  const caps = { positiveSeconds: 30, negativeSeconds: 30 };

  it('keeps a positive answer for min(smallest record TTL, cap)', () => {
    expect(cacheSeconds(positive(a(pod(0), 5)), caps)).toBe(5);
    expect(cacheSeconds(positive(a(pod(0), 300)), caps)).toBe(30);
    expect(cacheSeconds(positive(a(pod(0), 60), a(pod(0), 12, '10.0.0.2')), caps)).toBe(12);
    const withAdditional = { ...positive(a(pod(0), 20)), additional: [encodeRecord(a(pod(1), 7), false)] };
    expect(cacheSeconds(withAdditional, caps)).toBe(7);
  });

  it("keeps every answer at least CoreDNS' MINTTL of 5 s, or the cap when it is smaller", () => {
    expect(cacheSeconds(positive(a(pod(0), 0)), caps)).toBe(5);
    expect(cacheSeconds(positive(a(pod(0), 1)), caps)).toBe(5);
    expect(cacheSeconds(positive(a(pod(0), 1)), { ...caps, positiveSeconds: 3 })).toBe(3);
    expect(cacheSeconds(denial(RCODE.NXDOMAIN, soa(0, 0)), caps)).toBe(5);
    expect(cacheSeconds(denial(RCODE.NXDOMAIN, soa(2, 30)), { ...caps, negativeSeconds: 3 })).toBe(3);
  });

  it('keeps a denial for min(SOA TTL, SOA MINIMUM, denial cap), NXDOMAIN and NODATA alike', () => {
    expect(cacheSeconds(denial(RCODE.NXDOMAIN, soa(30, 30)), caps)).toBe(30);
    expect(cacheSeconds(denial(RCODE.NXDOMAIN, soa(5, 30)), caps)).toBe(5);
    expect(cacheSeconds(denial(RCODE.NXDOMAIN, soa(60, 7)), caps)).toBe(7);
    expect(cacheSeconds(denial(RCODE.NOERROR, soa(60, 60)), caps)).toBe(30);
    expect(cacheSeconds(denial(RCODE.NXDOMAIN, soa(60, 60)), { ...caps, negativeSeconds: 5 })).toBe(5);
    expect(answerKind(denial(RCODE.NOERROR, soa(1, 1)))).toBe('denial');
  });

  it('does not keep errors, nor a denial without an SOA', () => {
    for (const rcode of [RCODE.SERVFAIL, RCODE.REFUSED, RCODE.NOTIMP, RCODE.FORMERR]) {
      expect(answerKind(emptyAnswer(rcode))).toBe('uncached');
      expect(cacheSeconds(emptyAnswer(rcode), caps)).toBe(0);
    }
    expect(cacheSeconds(denial(RCODE.NXDOMAIN, undefined), caps)).toBe(0);
  });

  it('serves an entry while whole seconds are left, every TTL set to what is left, then forgets it', () => {
    const cache = new AnswerCache(caps);
    const answer = denial(RCODE.NXDOMAIN, soa(30, 10));
    expect(cache.put('x', 1, answer, 1_000)).toBe(10);
    expect(cache.size).toBe(1);
    for (const [now, left] of [
      [1_000, 10],
      [1_999, 10],
      [2_000, 9],
      [10_999, 1],
    ] as const) {
      const hit = cache.get('x', 1, now);
      expect(hit?.rcode, `at ${now}`).toBe(RCODE.NXDOMAIN);
      expect(soaTimers(hit!.authority[0]!)?.ttl, `at ${now}`).toBe(left);
    }
    expect(cache.get('x', 1, 11_000)).toBeUndefined();
    expect(cache.size).toBe(0);
    // Other types and names are separate entries.
    cache.put('x', 1, answer, 0);
    expect(cache.get('x', 28, 0)).toBeUndefined();
    expect(cache.get('y', 1, 0)).toBeUndefined();
  });

  it('a later put replaces the entry and restarts its clock; a stored answer is never changed', () => {
    const cache = new AnswerCache(caps);
    const first = positive(a(pod(0), 5));
    cache.put('x', 1, first, 0);
    cache.get('x', 1, 3_000);
    expect(recordTtl(first.answers[0]!)).toBe(5);
    cache.put('x', 1, positive(a(pod(0), 5, '10.0.0.9')), 4_000);
    expect(cache.size).toBe(1);
    const hit = cache.get('x', 1, 4_500)!;
    expect(recordTtl(hit.answers[0]!)).toBe(5);
    expect(hit.answers[0]!.subarray(-4)).toEqual(Buffer.from([10, 0, 0, 9]));
  });

  it('starts over past its bound; clear() forgets everything', () => {
    const cache = new AnswerCache(caps, 3);
    for (const name of ['a', 'b', 'c']) cache.put(name, 1, positive(a(pod(0), 5)), 0);
    expect(cache.size).toBe(3);
    cache.put('d', 1, positive(a(pod(0), 5)), 0);
    expect(cache.size).toBe(1);
    expect(cache.get('a', 1, 0)).toBeUndefined();
    expect(cache.get('d', 1, 0)).toBeDefined();
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.put('e', 1, emptyAnswer(RCODE.SERVFAIL), 0)).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('the remaining TTL never exceeds the first one and counts down by whole seconds (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 0, max: 4_000_000 }),
        (ttl, cap, elapsed) => {
          const cache = new AnswerCache({ positiveSeconds: cap, negativeSeconds: cap });
          const kept = cache.put('x', 1, positive(a(pod(0), ttl)), 10);
          expect(kept).toBe(Math.max(Math.min(5, cap), Math.min(ttl, cap)));
          const hit = cache.get('x', 1, 10 + elapsed);
          const left = kept - Math.floor(elapsed / 1000);
          if (left <= 0) expect(hit).toBeUndefined();
          else expect(recordTtl(hit!.answers[0]!)).toBe(left);
        },
      ),
    );
  });
});

describe('ClusterDnsServer in cache mode, over real sockets', () => {
  let dns: ClusterDnsServer | undefined;
  let clock = 1_000_000;
  const client = () => new DnsClient({ servers: [dns!.address], timeoutMs: 1000, attempts: 1 });
  const start = async (options: { cacheSeconds?: number; negativeCacheSeconds?: number; ttl?: number }) => {
    clock = 1_000_000;
    dns = await ClusterDnsServer.start({ now: () => clock, ...options });
    dns.addService({ name: SVC, namespace: NS });
    return dns;
  };
  const publish = (i: number, address: string) =>
    dns!.setPod({ hostname: `job-${i}`, subdomain: SVC, namespace: NS, addresses: [address], ready: true });

  afterEach(async () => {
    await dns?.close();
    dns = undefined;
  });

  it('keeps serving NXDOMAIN after the record was added, for min(SOA TTL, MINIMUM, cap), then the record', async () => {
    // ttl 30: SOA TTL 30, MINIMUM 30 (the zone TTL, as CoreDNS); cap 30 (kubeadm's `cache 30`).
    const server = await start({ cacheSeconds: 30, ttl: 30 });
    const before = await dig(server.address, `${pod(0)}.`);
    expect(before.status).toBe('NXDOMAIN');
    expect(before.authority.map((r) => [r.type, r.ttl])).toEqual([['SOA', 30]]);
    publish(0, '10.1.0.7');
    expect(server.model.resolve(pod(0), 'A').rcode).toBe('NOERROR');
    clock += 12_400;
    const cached = await dig(server.address, `${pod(0)}.`);
    expect(cached.status).toBe('NXDOMAIN');
    expect(cached.authority.map((r) => [r.type, r.ttl])).toEqual([['SOA', 18]]);
    const viaClient = client();
    try {
      const r = await viaClient.query(`${pod(0)}.`, 'A');
      expect(r.kind).toBe('nxdomain');
      expect(r.kind === 'nxdomain' ? r.negativeTtl : -1).toBe(18);
      clock += 17_599; // 29.999 s after the first answer: still the denial, 1 s left
      const last = await viaClient.query(`${pod(0)}.`, 'A');
      expect(last.kind === 'nxdomain' ? last.negativeTtl : -1).toBe(1);
      clock += 1;
      const fresh = await viaClient.query(`${pod(0)}.`, 'A');
      expect(fresh.kind).toBe('records');
      expect(fresh.kind === 'records' ? fresh.records.map((x) => [x.type, x.ttl]) : []).toEqual([['A', 30]]);
    } finally {
      await viaClient.close();
    }
    expect(server.stats()).toMatchObject({ cacheHits: 3, cacheMisses: 2, total: 5 });
  });

  it('caps the denial at the negative cap and at the SOA TTL, whichever is shortest', async () => {
    const server = await start({ cacheSeconds: 30, negativeCacheSeconds: 5, ttl: 30 });
    expect((await dig(server.address, `${pod(0)}.`)).status).toBe('NXDOMAIN');
    publish(0, '10.1.0.7');
    clock += 4_999;
    const cached = await dig(server.address, `${pod(0)}.`);
    expect(cached.authority.map((r) => r.ttl)).toEqual([1]);
    clock += 1;
    expect((await dig(server.address, `${pod(0)}.`)).answer.map((r) => r.data)).toEqual(['10.1.0.7']);
  });

  it('caches NODATA like NXDOMAIN (an AAAA question for an IPv4-only pod)', async () => {
    const server = await start({ cacheSeconds: 10, ttl: 5 });
    publish(0, '10.1.0.7');
    const nodata = await dig(server.address, `${pod(0)}.`, 'AAAA');
    expect([nodata.status, nodata.answer.length]).toEqual(['NOERROR', 0]);
    server.setPod({
      hostname: 'job-0',
      subdomain: SVC,
      namespace: NS,
      addresses: ['10.1.0.7', 'fd00::7'],
      ready: true,
    });
    clock += 4_000;
    const still = await dig(server.address, `${pod(0)}.`, 'AAAA');
    expect(still.answer).toEqual([]);
    expect(still.authority.map((r) => [r.type, r.ttl])).toEqual([['SOA', 1]]);
    clock += 1_000;
    expect((await dig(server.address, `${pod(0)}.`, 'AAAA')).answer.map((r) => r.data)).toEqual(['fd00::7']);
  });

  it('keeps a positive answer for min(record TTL, cap) with the TTL counting down, then asks the zone again', async () => {
    const server = await start({ cacheSeconds: 3, ttl: 5 });
    publish(0, '10.1.0.7');
    const first = await dig(server.address, `${pod(0)}.`);
    expect(first.answer.map((r) => [r.ttl, r.data])).toEqual([[3, '10.1.0.7']]);
    expect(first.flags).toContain('aa');
    publish(0, '10.1.0.8');
    clock += 1_000;
    const second = await dig(server.address, `${pod(0)}.`, 'A', ['+tcp']);
    expect(second.answer.map((r) => [r.ttl, r.data])).toEqual([[2, '10.1.0.7']]);
    clock += 2_000;
    expect((await dig(server.address, `${pod(0)}.`)).answer.map((r) => [r.ttl, r.data])).toEqual([
      [3, '10.1.0.8'],
    ]);
    // Without cache mode the new address comes at once (the zone's own answer, TTL 5).
    const plain = await ClusterDnsServer.start({ now: () => clock });
    try {
      plain.addService({ name: SVC, namespace: NS });
      plain.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['1.1.1.1'], ready: true });
      expect((await dig(plain.address, `${pod(0)}.`)).answer.map((r) => r.ttl)).toEqual([5]);
      plain.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['2.2.2.2'], ready: true });
      expect((await dig(plain.address, `${pod(0)}.`)).answer.map((r) => r.data)).toEqual(['2.2.2.2']);
      expect(plain.cache).toBeUndefined();
      expect(plain.stats()).toMatchObject({ cacheHits: 0, cacheMisses: 0 });
    } finally {
      await plain.close();
    }
  });

  it('caches the Service name and SRV answers too; flushCache() forgets, as a restarted cache', async () => {
    const server = await start({ cacheSeconds: 30, ttl: 30 });
    server.addService({ name: SVC, namespace: NS, ports: [{ name: 'rdzv', port: 29400 }] });
    publish(0, '10.1.0.1');
    const service = `${SVC}.${NS}.svc.${ZONE}.`;
    const srv = `_rdzv._tcp.${service}`;
    expect((await dig(server.address, service)).answer.map((r) => r.data)).toEqual(['10.1.0.1']);
    expect((await dig(server.address, srv, 'SRV')).additional.map((r) => r.data)).toEqual(['10.1.0.1']);
    publish(1, '10.1.0.2');
    clock += 29_000;
    expect((await dig(server.address, service)).answer.map((r) => [r.ttl, r.data])).toEqual([
      [1, '10.1.0.1'],
    ]);
    const cachedSrv = await dig(server.address, srv, 'SRV');
    expect(cachedSrv.answer.map((r) => r.ttl)).toEqual([1]);
    expect(cachedSrv.additional.map((r) => [r.ttl, r.data])).toEqual([[1, '10.1.0.1']]);
    server.flushCache();
    expect((await dig(server.address, service)).answer.map((r) => r.data).sort()).toEqual([
      '10.1.0.1',
      '10.1.0.2',
    ]);
    expect((await dig(server.address, srv, 'SRV')).answer).toHaveLength(2);
    expect(server.cache).toEqual({ positiveSeconds: 30, negativeSeconds: 30 });
  });

  it('reports cached answers to onQuery and does not cache SERVFAIL or REFUSED', async () => {
    const seen: Array<[string, string | undefined, boolean]> = [];
    clock = 0;
    dns = await ClusterDnsServer.start({
      now: () => clock,
      cacheSeconds: 30,
      onQuery: (e) => seen.push([e.name, e.rcode, e.cached]),
    });
    dns.setFaults({ servfailRatio: 1 });
    expect((await dig(dns.address, `${pod(0)}.`)).status).toBe('SERVFAIL');
    dns.setFaults({ servfailRatio: 0 });
    expect((await dig(dns.address, `${pod(0)}.`)).status).toBe('NXDOMAIN');
    expect((await dig(dns.address, `${pod(0)}.`)).status).toBe('NXDOMAIN');
    expect((await dig(dns.address, 'example.com.')).status).toBe('REFUSED');
    expect((await dig(dns.address, 'example.com.')).status).toBe('REFUSED');
    expect(seen).toEqual([
      [pod(0), 'SERVFAIL', false],
      [pod(0), 'NXDOMAIN', false],
      [pod(0), 'NXDOMAIN', true],
      ['example.com', 'REFUSED', false],
      ['example.com', 'REFUSED', false],
    ]);
  });

  it('rejects bad cache caps, naming the option and the value', async () => {
    await expect(ClusterDnsServer.start({ cacheSeconds: -1 })).rejects.toThrow(
      /DNS server cacheSeconds "-1" is invalid: expected an integer 0–86400/,
    );
    await expect(ClusterDnsServer.start({ cacheSeconds: 1.5 })).rejects.toThrow(/cacheSeconds "1\.5"/);
    await expect(ClusterDnsServer.start({ cacheSeconds: 5, negativeCacheSeconds: 86_401 })).rejects.toThrow(
      /negativeCacheSeconds "86401" is invalid/,
    );
    // 0 is "no cache".
    const off = await ClusterDnsServer.start({ cacheSeconds: 0 });
    expect(off.cache).toBeUndefined();
    await off.close();
  });
});
