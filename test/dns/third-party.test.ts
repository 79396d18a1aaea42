// The client against Knot DNS (knotd from Debian, code nobody here wrote), answers compared with dig's.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsClient } from '../../src/dns/client.js';
import type { DnsResult, QueryType } from '../../src/dns/types.js';
import { type KnotServer, startKnot } from '../helpers/knot.js';

const run = promisify(execFile);
const ZONE = 'cluster.local';
const SVC = `svc.ns.svc.${ZONE}`;

interface DigAnswer {
  status: string;
  aa: boolean;
  records: string[];
  negativeTtl: number | undefined;
}

/** Ask dig the same question and parse status, flags, answer records and the Authority SOA. */
async function dig(knot: KnotServer, name: string, type: QueryType): Promise<DigAnswer> {
  const { stdout } = await run(
    'dig',
    [`@${knot.address}`, '-p', String(knot.port), '+tries=1', '+time=2', name, type],
    {
      timeout: 10_000,
    },
  );
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'none';
  const flags = /;; flags: ([^;]*);/.exec(stdout)?.[1]?.split(' ') ?? [];
  const section = (title: string): string[][] => {
    const at = stdout.indexOf(`;; ${title} SECTION:\n`);
    if (at === -1) return [];
    const body = stdout.slice(at).split('\n').slice(1);
    const end = body.indexOf('');
    return body.slice(0, end === -1 ? undefined : end).map((l) => l.split(/\s+/));
  };
  const records = section('ANSWER')
    .filter((f) => f[3] === type)
    .map((f) => `${f[0]!.toLowerCase()} ${f[1]} ${f[3]} ${f.slice(4).join(' ').toLowerCase()}`)
    .sort();
  const soa = section('AUTHORITY').find((f) => f[3] === 'SOA');
  return {
    status,
    aa: flags.includes('aa'),
    records,
    negativeTtl: soa ? Math.min(Number(soa[1]), Number(soa[10])) : undefined,
  };
}

/** The client's result in dig's terms. */
function asDig(result: DnsResult): DigAnswer {
  switch (result.kind) {
    case 'records':
      return {
        status: 'NOERROR',
        aa: result.authoritative,
        records: result.records
          .map((r) =>
            r.type === 'SRV'
              ? `${r.name.toLowerCase()} ${r.ttl} SRV ${r.priority} ${r.weight} ${r.port} ${r.target.toLowerCase()}`
              : `${r.name.toLowerCase()} ${r.ttl} ${r.type} ${r.address}`,
          )
          .sort(),
        negativeTtl: undefined,
      };
    case 'nxdomain':
    case 'nodata':
      return {
        status: result.kind === 'nxdomain' ? 'NXDOMAIN' : 'NOERROR',
        aa: result.authoritative,
        records: [],
        negativeTtl: result.negativeTtl,
      };
    case 'servfail':
    case 'refused':
    case 'error':
      return { status: result.rcode, aa: false, records: [], negativeTtl: undefined };
    case 'timeout':
      return { status: 'timeout', aa: false, records: [], negativeTtl: undefined };
  }
}

let knot: KnotServer;
let client: DnsClient;

beforeAll(async () => {
  // SOA TTL 3 and MINIMUM 5: the negative TTL must be the smaller one.
  knot = await startKnot({
    zone: ZONE,
    ttl: 5,
    soaTtl: 3,
    records: [
      { name: `job-0.${SVC}.`, type: 'A', value: '10.1.0.10' },
      { name: `job-1.${SVC}.`, type: 'A', value: '10.1.0.11' },
      ...Array.from({ length: 100 }, (_, i) => ({
        name: `big.ns.svc.${ZONE}.`,
        type: 'A',
        value: `10.9.0.${i + 1}`,
      })),
      ...Array.from({ length: 64 }, (_, i) => ({
        name: `mid.ns.svc.${ZONE}.`,
        type: 'A',
        value: `10.8.0.${i + 1}`,
      })),
    ],
  });
  client = new DnsClient({
    servers: [{ host: knot.address, port: knot.port }],
    timeoutMs: 1000,
    attempts: 2,
  });
});

afterAll(async () => {
  await client?.close();
  await knot?.stop();
});

/** Ask both and compare; returns the client's result. */
async function same(name: string, type: QueryType): Promise<DnsResult> {
  const [ours, theirs] = await Promise.all([client.query(name, type), dig(knot, name, type)]);
  expect(asDig(ours)).toEqual(theirs);
  return ours;
}

describe('DnsClient against knotd, compared with dig', () => {
  it('answers A records with TTLs and AA like dig', async () => {
    const result = await same(`job-0.${SVC}.`, 'A');
    expect(result).toMatchObject({
      kind: 'records',
      authoritative: true,
      server: knot.server,
      records: [{ address: '10.1.0.10', ttl: 5 }],
    });
  });

  it('sees a name go from NXDOMAIN to present when it is added at run time, and back when removed', async () => {
    const name = `job-7.${SVC}.`;
    expect(await same(name, 'A')).toMatchObject({ kind: 'nxdomain', negativeTtl: 3 });
    await knot.add(name, 'A', '10.1.0.17', 5);
    expect(await same(name, 'A')).toMatchObject({ kind: 'records', records: [{ address: '10.1.0.17' }] });
    await knot.remove(name, 'A');
    expect(await same(name, 'A')).toMatchObject({ kind: 'nxdomain' });
  });

  it('reports NODATA with the SOA negative TTL for AAAA on an A-only name', async () => {
    expect(await same(`job-1.${SVC}.`, 'AAAA')).toMatchObject({
      kind: 'nodata',
      negativeTtl: 3,
      authoritative: true,
    });
  });

  it('falls back to TCP for a Service-like name with 100 A records (over 1232 bytes), getting all of them', async () => {
    const result = await same(`big.ns.svc.${ZONE}.`, 'A');
    expect(result).toMatchObject({ kind: 'records', transport: 'tcp' });
    expect(result.kind === 'records' && result.records.length).toBe(100);
  });

  it('falls back to TCP for 64 A records when it sends no EDNS (512-byte UDP limit)', async () => {
    const plain = new DnsClient({ servers: [{ host: knot.address, port: knot.port }], udpPayloadSize: 0 });
    try {
      const [ours, theirs] = await Promise.all([
        plain.query(`mid.ns.svc.${ZONE}.`, 'A'),
        dig(knot, `mid.ns.svc.${ZONE}.`, 'A'),
      ]);
      expect(ours).toMatchObject({ kind: 'records', transport: 'tcp' });
      expect(asDig(ours)).toEqual(theirs);
      expect(theirs.records).toHaveLength(64);
    } finally {
      await plain.close();
    }
  });

  it('gets SRV records with the target address in Additional', async () => {
    await knot.update([
      { op: 'add', name: `_rdzv._tcp.${SVC}.`, type: 'SRV', value: `0 50 29400 job-0.${SVC}.` },
      { op: 'add', name: `_rdzv._tcp.${SVC}.`, type: 'SRV', value: `0 50 29400 job-1.${SVC}.` },
    ]);
    const result = await same(`_rdzv._tcp.${SVC}.`, 'SRV');
    expect(result).toMatchObject({ kind: 'records' });
    expect(
      result.kind === 'records' && result.additional.map((r) => r.type === 'A' && r.address).sort(),
    ).toEqual(['10.1.0.10', '10.1.0.11']);
  });

  it('matches the question case-insensitively (knotd echoes the case we sent)', async () => {
    expect(await same(`JOB-0.Svc.NS.svc.${ZONE}.`, 'A')).toMatchObject({ kind: 'records' });
  });

  it('reports REFUSED for a name outside the zone, like dig', async () => {
    expect(await same('elsewhere.example.', 'A')).toMatchObject({ kind: 'refused', server: knot.server });
  });

  it('resolves many names at once within the concurrency limit', async () => {
    const names = Array.from({ length: 200 }, (_, i) =>
      i % 2 ? `job-${i % 2}.${SVC}.` : `gone-${i}.${SVC}.`,
    );
    const results = await Promise.all(names.map((n) => client.query(n, 'A')));
    expect(results.filter((r) => r.kind === 'records')).toHaveLength(100);
    expect(results.filter((r) => r.kind === 'nxdomain')).toHaveLength(100);
  });
});
