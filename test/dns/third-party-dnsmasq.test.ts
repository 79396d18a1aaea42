// The client against dnsmasq (Debian dnsmasq-base, authoritative zone, names from --hostsdir), compared
// with dig for the same questions.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsClient } from '../../src/dns/client.js';
import type { DnsResult, QueryType } from '../../src/dns/types.js';
import { type DnsmasqServer, startDnsmasq } from '../helpers/dnsmasq.js';

const run = promisify(execFile);
const SVC = 'svc.ns.svc.cluster.local';
let dm: DnsmasqServer;
let client: DnsClient;

/** dig's status and sorted `address ttl` answer lines. */
async function dig(name: string, type: QueryType): Promise<{ status: string; records: string[] }> {
  const { stdout } = await run(
    'dig',
    [`@${dm.address}`, '-p', String(dm.port), '+tries=1', '+time=2', name, type],
    {
      timeout: 10_000,
    },
  );
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'none';
  const at = stdout.indexOf(';; ANSWER SECTION:\n');
  const lines = at === -1 ? [] : stdout.slice(at).split('\n').slice(1);
  const end = lines.indexOf('');
  const records = lines
    .slice(0, end === -1 ? undefined : end)
    .map((l) => l.split(/\s+/))
    .filter((f) => f[3] === type)
    .map((f) => `${f[4]} ${f[1]}`)
    .sort();
  return { status, records };
}

function asDig(r: DnsResult): { status: string; records: string[] } {
  if (r.kind === 'records') {
    return {
      status: 'NOERROR',
      records: r.records.map((x) => `${x.type === 'SRV' ? x.target : x.address} ${x.ttl}`).sort(),
    };
  }
  if (r.kind === 'nodata') return { status: 'NOERROR', records: [] };
  if (r.kind === 'nxdomain') return { status: 'NXDOMAIN', records: [] };
  return { status: 'rcode' in r ? r.rcode : r.kind, records: [] };
}

async function same(name: string, type: QueryType): Promise<DnsResult> {
  const [ours, theirs] = await Promise.all([client.query(name, type), dig(name, type)]);
  expect(asDig(ours)).toEqual(theirs);
  return ours;
}

beforeAll(async () => {
  dm = await startDnsmasq({ ttl: 5 });
  client = new DnsClient({ servers: [{ host: dm.address, port: dm.port }], timeoutMs: 1000 });
  await dm.setHost(`job-0.${SVC}`, ['10.3.0.10']);
});

afterAll(async () => {
  await client?.close();
  await dm?.stop();
});

describe('DnsClient against dnsmasq --hostsdir, compared with dig', () => {
  it('answers a published name, authoritative', async () => {
    expect(await same(`job-0.${SVC}.`, 'A')).toMatchObject({
      kind: 'records',
      authoritative: true,
      server: dm.server,
      records: [{ address: '10.3.0.10', ttl: 5 }],
    });
  });

  it('follows a name through NXDOMAIN → published → withdrawn', async () => {
    const name = `job-5.${SVC}.`;
    expect(await same(name, 'A')).toMatchObject({ kind: 'nxdomain', negativeTtl: 5, authoritative: true });
    await dm.setHost(name, ['10.3.0.15']);
    expect(await same(name, 'A')).toMatchObject({ kind: 'records', records: [{ address: '10.3.0.15' }] });
    await dm.removeHost(name);
    expect(await same(name, 'A')).toMatchObject({ kind: 'nxdomain' });
  });

  it('reports NODATA with the SOA negative TTL for AAAA on an A-only name', async () => {
    expect(await same(`job-0.${SVC}.`, 'AAAA')).toMatchObject({ kind: 'nodata', negativeTtl: 5 });
  });

  it('gets every address of a name with 100 addresses over TCP', async () => {
    const addresses = Array.from({ length: 100 }, (_, i) => `10.4.0.${i + 1}`);
    await dm.setHost(SVC, addresses);
    const result = await same(`${SVC}.`, 'A');
    expect(result).toMatchObject({ kind: 'records', transport: 'tcp' });
    expect(
      result.kind === 'records' && result.records.map((r) => r.type === 'A' && r.address).sort(),
    ).toEqual([...addresses].sort());
  });
});
