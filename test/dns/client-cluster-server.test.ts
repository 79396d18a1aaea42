// The client against the project's own ClusterDnsServer over real UDP and TCP on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsClient } from '../../src/dns/client.js';
import { ClusterDnsServer } from '../../src/dns/server.js';

let server: ClusterDnsServer;
let client: DnsClient;
const svc = { name: 'workers', namespace: 'team' };

beforeAll(async () => {
  server = await ClusterDnsServer.start({ host: '127.0.0.1', port: 0, ttl: 5 });
  server.addService({ ...svc, publishNotReadyAddresses: true, ports: [{ name: 'rdzv', port: 29400 }] });
  for (let i = 0; i < 100; i++) {
    server.setPod({
      hostname: `job-${i}`,
      subdomain: 'workers',
      namespace: 'team',
      addresses: [`10.7.${i >> 8}.${i & 255}`],
      ready: true,
    });
  }
  client = new DnsClient({ servers: [server.address], timeoutMs: 1000 });
});

afterAll(async () => {
  await client?.close();
  await server?.close();
});

describe('DnsClient against ClusterDnsServer', () => {
  it('resolves a pod name with its TTL, authoritative', async () => {
    expect(await client.query('job-3.workers.team.svc.cluster.local.', 'A')).toMatchObject({
      kind: 'records',
      authoritative: true,
      ttl: 5,
      transport: 'udp',
      records: [{ address: '10.7.0.3' }],
    });
  });

  it('sees a pod appear: NXDOMAIN with the SOA negative TTL, then records', async () => {
    const name = 'job-200.workers.team.svc.cluster.local.';
    expect(await client.query(name, 'A')).toMatchObject({ kind: 'nxdomain', negativeTtl: 5 });
    server.setPod({
      hostname: 'job-200',
      subdomain: 'workers',
      namespace: 'team',
      addresses: ['10.7.9.9'],
      ready: true,
    });
    expect(await client.query(name, 'A')).toMatchObject({
      kind: 'records',
      records: [{ address: '10.7.9.9' }],
    });
  });

  it('reports NODATA for AAAA on an IPv4-only pod', async () => {
    expect(await client.query('job-1.workers.team.svc.cluster.local.', 'AAAA')).toMatchObject({
      kind: 'nodata',
      negativeTtl: 5,
    });
  });

  it('gets all 100+ addresses of the headless Service over TCP after a truncated UDP answer', async () => {
    const result = await client.query('workers.team.svc.cluster.local.', 'A');
    expect(result).toMatchObject({ kind: 'records', transport: 'tcp' });
    expect(result.kind === 'records' && result.records.length).toBeGreaterThanOrEqual(100);
  });

  it('gets SRV records for the named port with pod targets', async () => {
    const result = await client.query('_rdzv._tcp.workers.team.svc.cluster.local.', 'SRV');
    expect(result.kind).toBe('records');
    if (result.kind !== 'records') return;
    expect(result.records.length).toBeGreaterThanOrEqual(100);
    expect(result.records[0]).toMatchObject({ type: 'SRV', port: 29400 });
    expect(
      result.records.every((r) => r.type === 'SRV' && r.target.endsWith('.workers.team.svc.cluster.local.')),
    ).toBe(true);
  });
});
