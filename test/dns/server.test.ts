// The CoreDNS-like server over real UDP/TCP on loopback, checked with the real `dig`.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterDnsServer } from '../../src/dns/server.js';
import { dig } from './server-helpers.js';

const NS = 'team-a';
const SVC = 'workers';
const pod = (i: number) => `job-${i}.${SVC}.${NS}.svc.cluster.local`;
const service = `${SVC}.${NS}.svc.cluster.local`;

let dns: ClusterDnsServer;

beforeEach(async () => {
  dns = await ClusterDnsServer.start();
});

afterEach(async () => {
  await dns.close();
});

describe('pod records', () => {
  it('answers a Ready pod of a headless Service, authoritatively, with the zone TTL', async () => {
    dns.addService({ name: SVC, namespace: NS });
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.1.0.7'], ready: true });
    const r = await dig(dns.address, `${pod(0)}.`);
    expect(r.status).toBe('NOERROR');
    expect(r.flags).toContain('aa');
    expect(r.flags).not.toContain('ra');
    expect(r.answer).toEqual([{ name: `${pod(0)}.`, ttl: 5, type: 'A', data: '10.1.0.7' }]);
  });

  it('answers AAAA for an IPv6 pod and NODATA with the SOA for AAAA on an IPv4-only pod', async () => {
    dns.addService({ name: SVC, namespace: NS });
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['fd00::7'], ready: true });
    dns.setPod({ hostname: 'job-1', subdomain: SVC, namespace: NS, addresses: ['10.1.0.8'], ready: true });
    const six = await dig(dns.address, pod(0), 'AAAA');
    expect(six.answer.map((a) => [a.type, a.data])).toEqual([['AAAA', 'fd00::7']]);
    const nodata = await dig(dns.address, pod(1), 'AAAA');
    expect(nodata.status).toBe('NOERROR');
    expect(nodata.flags).toContain('aa');
    expect(nodata.answer).toEqual([]);
    expect(nodata.authority).toHaveLength(1);
    expect(nodata.authority[0]!.type).toBe('SOA');
  });

  it('has no record for a pod that is not Ready, unless the Service publishes not-ready addresses', async () => {
    dns.addService({ name: SVC, namespace: NS });
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.1.0.7'], ready: false });
    expect((await dig(dns.address, pod(0))).status).toBe('NXDOMAIN');
    dns.addService({ name: SVC, namespace: NS, publishNotReadyAddresses: true });
    const published = await dig(dns.address, pod(0));
    expect(published.status).toBe('NOERROR');
    expect(published.answer.map((a) => a.data)).toEqual(['10.1.0.7']);
  });

  it('has no record without a Service named like the subdomain, and none for an absent pod', async () => {
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.1.0.7'], ready: true });
    expect((await dig(dns.address, pod(0))).status).toBe('NXDOMAIN');
    dns.addService({ name: SVC, namespace: 'other' });
    expect((await dig(dns.address, pod(0))).status).toBe('NXDOMAIN');
    dns.addService({ name: SVC, namespace: NS });
    expect((await dig(dns.address, pod(0))).status).toBe('NOERROR');
    expect((await dig(dns.address, pod(1))).status).toBe('NXDOMAIN');
  });

  it('follows readiness and removal at run time', async () => {
    dns.addService({ name: SVC, namespace: NS });
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.1.0.7'], ready: true });
    expect((await dig(dns.address, pod(0))).status).toBe('NOERROR');
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.1.0.7'], ready: false });
    expect((await dig(dns.address, pod(0))).status).toBe('NXDOMAIN');
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.1.0.9'], ready: true });
    expect((await dig(dns.address, pod(0))).answer.map((a) => a.data)).toEqual(['10.1.0.9']);
    expect(dns.removePod({ hostname: 'job-0', subdomain: SVC, namespace: NS })).toBe(true);
    expect((await dig(dns.address, pod(0))).status).toBe('NXDOMAIN');
  });

  it('matches names case-insensitively and echoes the question as asked', async () => {
    dns.addService({ name: SVC, namespace: NS });
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.1.0.7'], ready: true });
    const mixed = 'JOB-0.Workers.TEAM-A.svc.Cluster.Local.';
    const r = await dig(dns.address, mixed);
    expect(r.status).toBe('NOERROR');
    expect(r.answer).toEqual([{ name: mixed, ttl: 5, type: 'A', data: '10.1.0.7' }]);
  });
});

describe('negative answers', () => {
  it('carries the zone SOA with TTL min(ttl, 300) and MINIMUM = ttl on NXDOMAIN and NODATA', async () => {
    await dns.close();
    dns = await ClusterDnsServer.start({ ttl: 30 });
    dns.addService({ name: SVC, namespace: NS });
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.1.0.7'], ready: true });
    for (const [name, type, status] of [
      [pod(9), 'A', 'NXDOMAIN'],
      [pod(0), 'TXT', 'NOERROR'],
    ] as const) {
      const r = await dig(dns.address, name, type);
      expect(r.status).toBe(status);
      expect(r.flags).toContain('aa');
      expect(r.answer).toEqual([]);
      expect(r.authority).toHaveLength(1);
      const soa = r.authority[0]!;
      expect(soa.name).toBe('cluster.local.');
      expect(soa.ttl).toBe(30);
      const [mname, rname, , refresh, retry, expire, minimum] = soa.data.split(' ');
      expect([mname, rname, refresh, retry, expire, minimum]).toEqual([
        'ns.dns.cluster.local.',
        'hostmaster.cluster.local.',
        '7200',
        '1800',
        '86400',
        '30',
      ]);
    }
  });

  it('caps the SOA TTL at 300 while MINIMUM stays the configured ttl', async () => {
    await dns.close();
    dns = await ClusterDnsServer.start({ ttl: 3600 });
    const soa = (await dig(dns.address, pod(0))).authority[0]!;
    expect(soa.ttl).toBe(300);
    expect(soa.data.split(' ')[6]).toBe('3600');
  });

  it('refuses names outside the zone, without AA or SOA', async () => {
    for (const name of ['example.com.', 'local.', 'notcluster.local.', '.']) {
      const r = await dig(dns.address, name);
      expect(r.status, name).toBe('REFUSED');
      expect(r.flags, name).not.toContain('aa');
      expect(r.authority, name).toEqual([]);
    }
  });
});

describe('Service names', () => {
  it('answers every published pod address, A and AAAA apart; NXDOMAIN with no endpoints', async () => {
    dns.addService({ name: SVC, namespace: NS });
    expect((await dig(dns.address, service)).status).toBe('NXDOMAIN');
    for (let i = 0; i < 6; i++) {
      dns.setPod({
        hostname: `job-${i}`,
        subdomain: SVC,
        namespace: NS,
        addresses: [`10.1.0.${i + 1}`, `fd00::${i + 1}`],
        ready: i !== 3,
      });
    }
    const a = await dig(dns.address, service, 'A');
    expect(a.answer.map((r) => r.data)).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.5', '10.1.0.6']);
    expect(a.answer.every((r) => r.name === `${service}.` && r.ttl === 5)).toBe(true);
    const aaaa = await dig(dns.address, service, 'AAAA');
    expect(aaaa.answer.map((r) => r.data)).toEqual(['fd00::1', 'fd00::2', 'fd00::3', 'fd00::5', 'fd00::6']);
  });
});

describe('transports', () => {
  it('answers the same over TCP as over UDP, on the same port', async () => {
    dns.addService({ name: SVC, namespace: NS });
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.1.0.7'], ready: true });
    const udp = await dig(dns.address, pod(0), 'A', ['+notcp']);
    const tcp = await dig(dns.address, pod(0), 'A', ['+tcp']);
    expect(tcp.answer).toEqual(udp.answer);
    expect(tcp.status).toBe('NOERROR');
    const stats = dns.stats();
    expect(stats.udp).toBe(1);
    expect(stats.tcp).toBe(1);
  });
});
