// A rejected positive answer from a cache (a restarted pod's old address, served for the rest of its TTL) is not
// asked again before its TTL runs out: AnswerAge tells a cache's answer from the zone server's, resolveUntil waits.
import { describe, expect, it } from 'vitest';
import type { DnsResult, QueryType, Resolver } from '../../src/dns/types.js';
import {
  type AddressLookup,
  AnswerAge,
  type CachedAnswer,
  describeCachedAnswer,
  LookupGate,
  resolveUntil,
} from '../../src/rendezvous/lookup.js';

const lookup = (addresses: string[], ttl: number | undefined, authoritative?: boolean): AddressLookup => ({
  addresses,
  state: 'unknown',
  detail: '',
  queries: 1,
  ttl,
  authoritative,
});

describe('AnswerAge', () => {
  it('an authoritative answer with a whole TTL is not known cached', () => {
    const age = new AnswerAge();
    expect(age.rejected(lookup(['10.0.0.1'], 30, true), 1000)).toBeUndefined();
    expect(age.rejected(lookup(['10.0.0.1'], 30, true), 2000)).toBeUndefined();
  });

  it('a non-authoritative answer is a cache’s at once, held for its TTL', () => {
    expect(new AnswerAge().rejected(lookup(['10.0.0.1'], 12, false), 5000)).toEqual({
      addresses: ['10.0.0.1'],
      until: 17_000,
      ttl: 12,
    });
  });

  it('the same addresses with a smaller TTL: a cache counting down (CoreDNS sets AA on cached answers)', () => {
    const age = new AnswerAge();
    expect(age.rejected(lookup(['10.0.0.2', '10.0.0.1'], 30, true), 0)).toBeUndefined();
    expect(age.rejected(lookup(['10.0.0.1', '10.0.0.2'], 29, true), 1000)).toEqual({
      addresses: ['10.0.0.1', '10.0.0.2'],
      until: 30_000,
      ttl: 29,
    });
  });

  it('other addresses, a TTL that does not fall, no TTL or TTL 0: not known cached, and the count starts over', () => {
    const age = new AnswerAge();
    age.rejected(lookup(['10.0.0.1'], 30, true), 0);
    expect(age.rejected(lookup(['10.0.0.3'], 29, true), 1000)).toBeUndefined();
    expect(age.rejected(lookup(['10.0.0.3'], 29, true), 1500)).toBeUndefined();
    expect(age.rejected(lookup(['10.0.0.3'], 0, true), 2000)).toBeUndefined();
    expect(age.rejected(lookup(['10.0.0.3'], undefined), 2500)).toBeUndefined();
    expect(age.rejected(lookup([], 5, false), 3000)).toBeUndefined();
    // After the reset a lower TTL needs a baseline again.
    expect(age.rejected(lookup(['10.0.0.3'], 20, true), 4000)).toBeUndefined();
    expect(age.rejected(lookup(['10.0.0.3'], 19, true), 5000)).toMatchObject({ until: 24_000 });
  });

  it('describes the hold for progress lines, nothing when not held', () => {
    const held: CachedAnswer = { addresses: ['10.0.0.1'], until: Date.UTC(2026, 0, 1, 12, 0, 31), ttl: 28 };
    expect(describeCachedAnswer(held)).toBe('; that answer is cached until 12:00:31 (TTL 28 s left)');
    expect(describeCachedAnswer(undefined)).toBe('');
  });
});

/** A resolver serving `old` for `ttlS` seconds counted down from the first question (a cache), then `fresh`. */
function cachingResolver(old: string, fresh: string, ttlS: number, authoritative: boolean) {
  let first: number | undefined;
  const asked: number[] = [];
  const resolver: Resolver = {
    close: () => Promise.resolve(),
    query(name: string, type: QueryType): Promise<DnsResult> {
      const now = Date.now();
      first ??= now;
      asked.push(now);
      const left = ttlS - Math.floor((now - first) / 1000);
      if (type === 'AAAA')
        return Promise.resolve({
          kind: 'nodata',
          name,
          type,
          negativeTtl: undefined,
          authoritative,
          server: '127.0.0.1:53',
        } as DnsResult);
      const address = left > 0 ? old : fresh;
      return Promise.resolve({
        kind: 'records',
        name,
        type,
        records: [{ type: 'A', name, ttl: Math.max(left, ttlS), address }],
        additional: [],
        ttl: left > 0 ? left : ttlS,
        authoritative,
        server: '127.0.0.1:53',
        transport: 'udp',
        elapsedMs: 0,
      } as DnsResult);
    },
  };
  return { resolver, asked };
}

describe('resolveUntil and a cached stale answer', () => {
  const NAME = 'job-0.svc.default.svc.cluster.local.';
  const policy = () => ({ first: 10, factor: 1.5, cap: 50, floor: 10 });

  for (const authoritative of [false, true]) {
    it(`waits out the old address's TTL instead of polling it (AA ${authoritative ? 'set, as CoreDNS' : 'clear'})`, async () => {
      const { resolver, asked } = cachingResolver('10.0.0.1', '10.0.0.9', 2, authoritative);
      const gate = new LookupGate(resolver, 5, Date.now, new AbortController().signal);
      const held: (CachedAnswer | undefined)[] = [];
      const started = Date.now();
      const got = await resolveUntil(gate, NAME, (a) => a.includes('10.0.0.9'), {
        policy,
        deadline: started + 10_000,
        signal: new AbortController().signal,
        onMiss: (_lookup, h) => held.push(h),
      });
      expect(got).toEqual(['10.0.0.9']);
      // AA clear: held from the first answer; AA set: once the TTL is seen to fall (polled until then).
      const at = held.findIndex((h) => h !== undefined);
      const h = held[at]!;
      expect(h).toMatchObject({ addresses: ['10.0.0.1'], ttl: authoritative ? 1 : 2 });
      if (!authoritative) expect(at).toBe(0);
      else expect(at).toBeGreaterThan(0);
      // The question after the held answer waits for its TTL to run out, and is the last: the fresh address.
      expect(asked.length).toBe(at + 2);
      expect(asked.at(-1)!).toBeGreaterThanOrEqual(h.until);
    });
  }
});
