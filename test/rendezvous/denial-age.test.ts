// The age of a cached denial, read from the cache's answers (src/rendezvous/denial-age.ts): pure arithmetic on
// negative TTLs, the probe name, and the one question it asks through a LookupGate.
import { describe, expect, it } from 'vitest';
import type { DnsResult, QueryType, Resolver } from '../../src/dns/types.js';
import {
  type DenialReading,
  denialAgeMs,
  freshReading,
  serviceDenialAgeMs,
  siblingProbeName,
  TTL_ROUNDING_S,
} from '../../src/rendezvous/denial-age.js';
import { type CachedDenial, LookupGate } from '../../src/rendezvous/lookup.js';

const S = '10.96.0.10:53';
const r = (negativeTtl: number | undefined, server = S): DenialReading => ({ negativeTtl, server });

describe('denialAgeMs', () => {
  it.each([
    // [left on the Service's denial, a fresh denial's TTL, lower bound on the age in s]
    // kubeadm CoreDNS (`ttl 30`, `cache 30`): fresh 30, counting down.
    [30, 30, 0],
    [29, 30, 0], // 1 s of it may be rounding
    [28, 30, 1],
    [27, 30, 2],
    [25, 30, 4],
    [1, 30, 28],
    [0, 30, 29], // served stale with TTL 0: at least as old as the fresh TTL, less the rounding
    // CoreDNS default `ttl 5`.
    [5, 5, 0],
    [3, 5, 1],
    [1, 5, 3],
    // NodeLocal DNSCache (`denial 9984 5`) in front of `ttl 30`: the fresh denial says 5, not the MINIMUM 30.
    [4, 5, 0],
    [2, 5, 2],
    // A fresh denial shorter than the one read (another path, a refreshed entry): nothing proven.
    [30, 5, 0],
    [10, 9, 0],
  ])('%i s left, fresh %i s → at least %i s old', (left, fresh, seconds) => {
    expect(denialAgeMs(r(left), r(fresh))).toBe(seconds * 1000);
  });

  it('is never negative and never more than the fresh TTL less the rounding', () => {
    for (let fresh = 0; fresh <= 40; fresh++) {
      for (let left = 0; left <= 40; left++) {
        const age = denialAgeMs(r(left), r(fresh));
        expect(age).toBeGreaterThanOrEqual(0);
        expect(age).toBeLessThanOrEqual(Math.max(0, fresh - TTL_ROUNDING_S) * 1000);
        // A whole number of seconds: nothing finer comes from a TTL.
        expect(age % 1000).toBe(0);
        // Monotonic: less left means older.
        if (left > 0) expect(denialAgeMs(r(left - 1), r(fresh))).toBeGreaterThanOrEqual(age);
      }
    }
  });

  it('an unbound-style cache (every denial shows the zone SOA’s time left): the same TTL, no age', () => {
    expect(denialAgeMs(r(27), r(27))).toBe(0);
    expect(denialAgeMs(r(2), r(2))).toBe(0);
  });

  it('the zone’s own server (no cache: every denial is new): no age', () => {
    expect(denialAgeMs(r(30), r(30))).toBe(0);
  });

  it.each([
    ['no fresh reading', r(10), undefined],
    ['another server answered the fresh question', r(10), r(30, '10.96.0.11:53')],
    ['the same address on another port', r(10), r(30, '10.96.0.10:5353')],
    ['no SOA on the Service’s denial', r(undefined), r(30)],
    ['no SOA on the fresh denial', r(10), r(undefined)],
  ])('%s: no age', (_what, denial, fresh) => {
    expect(denialAgeMs(denial, fresh)).toBe(0);
  });
});

const base = { name: 'x.', type: 'A' as QueryType, server: S, transport: 'udp' as const, elapsedMs: 1 };

describe('freshReading', () => {
  it('reads NXDOMAIN and NODATA with their negative TTL and server', () => {
    expect(
      freshReading({ ...base, kind: 'nxdomain', negativeTtl: 30, soaMinimum: 30, authoritative: true }),
    ).toEqual({ negativeTtl: 30, server: S });
    expect(freshReading({ ...base, kind: 'nodata', negativeTtl: 5, authoritative: false })).toEqual({
      negativeTtl: 5,
      server: S,
    });
    expect(freshReading({ ...base, kind: 'nxdomain', negativeTtl: undefined, authoritative: false })).toEqual(
      { negativeTtl: undefined, server: S },
    );
  });

  it.each<DnsResult>([
    {
      ...base,
      kind: 'records',
      records: [{ type: 'A', name: 'x.', ttl: 30, address: '10.0.0.1' }],
      additional: [],
      ttl: 30,
      authoritative: false,
    },
    { ...base, kind: 'servfail', rcode: 'SERVFAIL' },
    { ...base, kind: 'refused', rcode: 'REFUSED' },
    { ...base, kind: 'error', rcode: 'NOTIMP' },
    { name: 'x.', type: 'A', kind: 'timeout', servers: [S], elapsedMs: 2000 },
  ])('$kind: no reading', (result) => {
    expect(freshReading(result)).toBeUndefined();
  });
});

describe('siblingProbeName', () => {
  const random = Buffer.from('0123456789abcdef', 'hex');

  it('is a sibling of the Service’s name, not below it (a denied name may deny all below it)', () => {
    expect(siblingProbeName('headless-svc.default.svc.cluster.local.', random)).toBe(
      'prdv-age-0123456789abcdef.default.svc.cluster.local.',
    );
    expect(siblingProbeName('workers.team-a.svc.example.org.', random)).toBe(
      'prdv-age-0123456789abcdef.team-a.svc.example.org.',
    );
  });

  it('is a valid DNS-1035 label of at most 63 characters, new every time', () => {
    const a = siblingProbeName('headless-svc.default.svc.cluster.local.')!;
    const b = siblingProbeName('headless-svc.default.svc.cluster.local.')!;
    expect(a).not.toBe(b);
    const label = a.slice(0, a.indexOf('.'));
    expect(label).toMatch(/^[a-z]([a-z0-9-]*[a-z0-9])?$/);
    expect(label.length).toBeLessThanOrEqual(63);
  });

  it.each(['localhost.', 'single', '', '.'])('%j: none', (name) => {
    expect(siblingProbeName(name, random)).toBeUndefined();
  });
});

describe('serviceDenialAgeMs', () => {
  const SERVICE = 'headless-svc.default.svc.cluster.local.';
  const denial = (ttl: number, minimum: number | undefined = 30, server = S): CachedDenial => ({
    kind: 'nxdomain',
    until: 0,
    ttl,
    minimum,
    server,
  });
  /** A resolver answering every question with `answer` (name filled in), recording what was asked. */
  const resolver = (answer: (name: string) => DnsResult, asked: string[]): Resolver => ({
    query: async (name) => {
      asked.push(name);
      return answer(name);
    },
    close: () => {},
  });
  const nx =
    (negativeTtl: number, server = S) =>
    (name: string): DnsResult => ({
      ...base,
      name,
      server,
      kind: 'nxdomain',
      negativeTtl,
      soaMinimum: 30,
      authoritative: true,
    });
  const signal = new AbortController().signal;

  it('asks one sibling name and reads the age from its fresh denial', async () => {
    const asked: string[] = [];
    const gate = new LookupGate(resolver(nx(30), asked), 0);
    expect(await serviceDenialAgeMs(gate, SERVICE, denial(26), signal)).toBe(3_000);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/^prdv-age-[0-9a-f]{16}\.default\.svc\.cluster\.local\.$/);
    expect(gate.queries).toBe(1);
  });

  it('a capped cache (fresh denial 5 s under a MINIMUM of 30): the cap decides, not the MINIMUM', async () => {
    const gate = new LookupGate(resolver(nx(5), []), 0);
    // MINIMUM − left would say 26 s; the fresh denial says 5 − 4 − 1 = 0.
    expect(await serviceDenialAgeMs(gate, SERVICE, denial(4), signal)).toBe(0);
  });

  it('asks nothing when the denial has its whole MINIMUM left (at most a second old)', async () => {
    const asked: string[] = [];
    const gate = new LookupGate(resolver(nx(30), asked), 0);
    expect(await serviceDenialAgeMs(gate, SERVICE, denial(30), signal)).toBe(0);
    expect(asked).toEqual([]);
  });

  it('asks when the answer carried no MINIMUM', async () => {
    const gate = new LookupGate(resolver(nx(30), []), 0);
    expect(await serviceDenialAgeMs(gate, SERVICE, denial(20, undefined), signal)).toBe(9_000);
  });

  it('no age when the fresh question exists, fails, or another server answers it', async () => {
    const records = (name: string): DnsResult => ({
      ...base,
      name,
      kind: 'records',
      records: [{ type: 'A', name, ttl: 30, address: '10.0.0.1' }],
      additional: [],
      ttl: 30,
      authoritative: false,
    });
    const failing: Resolver = {
      query: async () => {
        throw new Error('socket closed');
      },
      close: () => {},
    };
    for (const r of [resolver(records, []), failing, resolver(nx(30, '10.96.0.11:53'), [])]) {
      expect(await serviceDenialAgeMs(new LookupGate(r, 0), SERVICE, denial(10), signal)).toBe(0);
    }
  });
});
