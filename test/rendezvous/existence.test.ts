// The existence probe's rules with scripted servers: which answers count, the calibration, a new private-use
// type for every question (test/dns/existence-probe.test.ts has the real servers).
import { describe, expect, it } from 'vitest';
import type { DnsResult, QueryType, Resolver } from '../../src/dns/types.js';
import {
  absentSibling,
  ExistenceProbe,
  PROBE_POLL,
  SHARED_PROBE_SPACING_MS,
  sharedProbePoll,
  slowedProbePoll,
} from '../../src/rendezvous/existence.js';
import { LookupGate } from '../../src/rendezvous/lookup.js';

const S = '10.96.0.10:53';
const NAME = 'job-1.workers.ns.svc.cluster.local.';
type Kind = 'nxdomain' | 'nodata' | 'servfail' | 'timeout';

function answer(name: string, type: QueryType, kind: Kind): DnsResult {
  const base = { name, type, transport: 'udp' as const, elapsedMs: 1 };
  if (kind === 'timeout') return { ...base, kind, servers: [S] };
  if (kind === 'servfail') return { ...base, kind, server: S, rcode: 'SERVFAIL' };
  return { ...base, kind, server: S, negativeTtl: 30, soaMinimum: 30, authoritative: true };
}

/** A server where the names in `existing` exist; `rule` may answer otherwise. */
function server(
  existing: Set<string>,
  asked: { name: string; type: QueryType }[],
  rule?: (name: string, type: QueryType) => Kind | undefined,
): Resolver {
  return {
    query: async (name, type) => {
      asked.push({ name, type });
      return answer(name, type, rule?.(name, type) ?? (existing.has(name) ? 'nodata' : 'nxdomain'));
    },
    close: () => {},
  };
}

const signal = new AbortController().signal;

describe('probe polls', () => {
  it('a name probed long is probed more slowly: PROBE_POLL for 5 s, then capped at 1 s, after 30 s at 2 s', () => {
    expect(slowedProbePoll(PROBE_POLL, 0)).toEqual(PROBE_POLL);
    expect(slowedProbePoll(PROBE_POLL, 4_999)).toEqual(PROBE_POLL);
    expect(slowedProbePoll(PROBE_POLL, 5_000)).toEqual({ ...PROBE_POLL, cap: 1_000 });
    expect(slowedProbePoll(PROBE_POLL, 29_999)).toEqual({ ...PROBE_POLL, cap: 1_000 });
    expect(slowedProbePoll(PROBE_POLL, 30_000)).toEqual({ ...PROBE_POLL, cap: 2_000 });
    expect(slowedProbePoll(PROBE_POLL, 3_600_000)).toEqual({ ...PROBE_POLL, cap: 2_000 });
  });

  it('a poll already slower (a name the job shares) is kept as it is', () => {
    const shared = sharedProbePoll(63);
    expect(shared).toEqual({
      first: 2 * 63 * SHARED_PROBE_SPACING_MS,
      factor: 1,
      cap: 2 * 63 * SHARED_PROBE_SPACING_MS,
      floor: 63 * SHARED_PROBE_SPACING_MS,
    });
    for (const t of [0, 10_000, 60_000]) expect(slowedProbePoll(shared, t)).toBe(shared);
    expect(sharedProbePoll(1)).toBe(PROBE_POLL);
  });
});

describe('absentSibling', () => {
  it('is a random first label under the same parent; undefined for one label', () => {
    expect(absentSibling(NAME, Buffer.from('0011223344556677', 'hex'))).toBe(
      'prdv-none-0011223344556677.workers.ns.svc.cluster.local.',
    );
    expect(absentSibling('localhost')).toBeUndefined();
    expect(absentSibling('.')).toBeUndefined();
    expect(absentSibling(NAME)).not.toBe(absentSibling(NAME));
  });
});

describe('ExistenceProbe', () => {
  it('asks a new private-use type each time, wrapping at TYPE65534; calibrates once', async () => {
    const asked: { name: string; type: QueryType }[] = [];
    const probe = new ExistenceProbe(new LookupGate(server(new Set([NAME]), asked), 0), 253);
    for (let i = 0; i < 3; i++) expect(await probe.check(NAME, signal)).toBe('exists');
    expect(asked.map((a) => a.type).sort()).toEqual([
      'TYPE65280',
      'TYPE65281',
      'TYPE65282',
      'TYPE65533',
      'TYPE65534',
    ]);
    // The calibration, twice, before the first real probe.
    expect(asked.slice(0, 2).every((a) => a.name.startsWith('prdv-none-'))).toBe(true);
    expect(asked.filter((a) => a.name.startsWith('prdv-none-'))).toHaveLength(2);
    expect(probe.absentIsReliable).toBe(true);
  });

  it('gives each name its own sequence of types: probes of one name among many others never repeat a type', async () => {
    const asked: { name: string; type: QueryType }[] = [];
    const probe = new ExistenceProbe(new LookupGate(server(new Set(), asked), 0), 7);
    for (let i = 0; i < 120; i++) {
      expect(await probe.check(NAME, signal)).toBe('absent');
      // A coordinator probes the other missing members' names in between.
      for (const other of ['job-2', 'job-3']) await probe.check(`${other}.svc.ns.svc.cluster.local.`, signal);
    }
    const types = asked.filter((a) => a.name === NAME).map((a) => a.type);
    expect(types).toHaveLength(120);
    // One agent-wide counter gave NAME every third type: the 86th probe came back to the first one's.
    expect(new Set(types).size).toBe(120);
  });

  it('shares a probe of the same name in flight', async () => {
    const asked: { name: string; type: QueryType }[] = [];
    const probe = new ExistenceProbe(new LookupGate(server(new Set([NAME]), asked), 0), 0);
    const both = await Promise.all([probe.check(NAME, signal), probe.check(NAME.toUpperCase(), signal)]);
    expect(both).toEqual(['exists', 'exists']);
    expect(asked.filter((a) => a.name === NAME)).toHaveLength(1);
  });

  it('an IP literal exists without a question', async () => {
    const asked: { name: string; type: QueryType }[] = [];
    const probe = new ExistenceProbe(new LookupGate(server(new Set(), asked), 0), 0);
    expect(await probe.check('10.244.1.9', signal)).toBe('exists');
    expect(asked).toEqual([]);
  });

  it('a server that answers NODATA for any name: nothing it says counts as `exists`', async () => {
    const asked: { name: string; type: QueryType }[] = [];
    const probe = new ExistenceProbe(
      new LookupGate(
        server(new Set(), asked, () => 'nodata'),
        0,
      ),
      0,
    );
    expect(await probe.check(NAME, signal)).toBe('unknown');
    expect(await probe.check(NAME, signal)).toBe('unknown');
    expect(probe.absentIsReliable).toBe(false);
    // The calibration's answer was an answer: not asked again.
    expect(asked.filter((a) => a.name.startsWith('prdv-none-'))).toHaveLength(1);
  });

  it('a server that denies every private type: `absent`, but never reliable (the grace times still end a wait)', async () => {
    const asked: { name: string; type: QueryType }[] = [];
    const probe = new ExistenceProbe(
      new LookupGate(
        server(new Set([NAME]), asked, () => 'nxdomain'),
        0,
      ),
      0,
    );
    expect(await probe.check(NAME, signal)).toBe('absent');
    expect(await probe.check(NAME, signal)).toBe('absent');
    expect(probe.absentIsReliable).toBe(false);
  });

  it('a failing server says nothing; the calibration is asked again with the next probe', async () => {
    const asked: { name: string; type: QueryType }[] = [];
    let failing = true;
    const probe = new ExistenceProbe(
      new LookupGate(
        server(new Set([NAME]), asked, () => (failing ? 'servfail' : undefined)),
        0,
      ),
      0,
    );
    expect(await probe.check(NAME, signal)).toBe('unknown');
    failing = false;
    expect(await probe.check(NAME, signal)).toBe('exists');
    expect(asked.filter((a) => a.name.startsWith('prdv-none-'))).toHaveLength(3);
  });

  it('a cache that answers the second calibration question from the first one’s NXDOMAIN (AA gone): probes off', async () => {
    const asked: { name: string; type: QueryType }[] = [];
    let calibrations = 0;
    const resolver: Resolver = {
      query: async (name, type) => {
        asked.push({ name, type });
        const a = answer(name, type, 'nxdomain');
        const fromCache = name.startsWith('prdv-none-') && ++calibrations > 1;
        return fromCache && a.kind === 'nxdomain' ? { ...a, authoritative: false } : a;
      },
      close: () => {},
    };
    const probe = new ExistenceProbe(new LookupGate(resolver, 0), 0);
    expect(await probe.check(NAME, signal)).toBe('unknown');
    expect(await probe.check(NAME, signal)).toBe('unknown');
    expect(probe.crossType).toBe(true);
    // The real name was never asked: its probe's denial would have denied its A question too.
    expect(asked.filter((a) => a.name === NAME)).toEqual([]);
  });

  it('confirm(): a name known to exist, asked once, makes `absent` reliable', async () => {
    const asked: { name: string; type: QueryType }[] = [];
    const svc = 'workers.ns.svc.cluster.local.';
    const probe = new ExistenceProbe(new LookupGate(server(new Set([svc]), asked), 0), 0);
    expect(await probe.check(NAME, signal)).toBe('absent');
    expect(probe.absentIsReliable).toBe(false);
    await probe.confirm(svc, signal);
    await probe.confirm(svc, signal);
    expect(probe.absentIsReliable).toBe(true);
    expect(asked.filter((a) => a.name === svc)).toHaveLength(1);
  });

  it('a timeout says nothing', async () => {
    const asked: { name: string; type: QueryType }[] = [];
    const probe = new ExistenceProbe(
      new LookupGate(
        server(new Set([NAME]), asked, () => 'timeout'),
        0,
      ),
      0,
    );
    expect(await probe.check(NAME, signal)).toBe('unknown');
  });

  it('an abort rejects the probe with the reason, leaving nothing unhandled', async () => {
    const ac = new AbortController();
    const never: Resolver = {
      query: (_n, _t, o) =>
        new Promise((_, reject) => o?.signal?.addEventListener('abort', () => reject(o.signal!.reason))),
      close: () => {},
    };
    const probe = new ExistenceProbe(new LookupGate(never, 0, Date.now, ac.signal), 0);
    const run = probe.check(NAME, ac.signal);
    ac.abort(new Error('stop'));
    await expect(run).rejects.toThrow('stop');
  });
});
