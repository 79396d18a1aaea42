// The CoreDNS-like server over real UDP/TCP on loopback, checked with the real `dig`.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterDnsServer } from '../../src/dns/server.js';
import { dig, digRaw } from './server-helpers.js';

const NS = 'team-a';
const SVC = 'workers';
const pod = (i: number) => `job-${i}.${SVC}.${NS}.svc.cluster.local`;
const service = `${SVC}.${NS}.svc.cluster.local`;
/** Wire length of the question for `service`: labels + root + type + class. */
const QUESTION = service.length + 2 + 4;

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

describe('SRV', () => {
  it('answers named ports with the pods as targets and their addresses in Additional', async () => {
    dns.addService({ name: SVC, namespace: NS, ports: [{ name: 'rdzv', port: 29400 }] });
    dns.setPod({
      hostname: 'job-0',
      subdomain: SVC,
      namespace: NS,
      addresses: ['10.1.0.1', 'fd00::1'],
      ready: true,
    });
    dns.setPod({ hostname: 'job-1', subdomain: SVC, namespace: NS, addresses: ['10.1.0.2'], ready: true });
    const r = await dig(dns.address, `_rdzv._tcp.${service}`, 'SRV');
    expect(r.status).toBe('NOERROR');
    expect(r.flags).toContain('aa');
    expect(r.answer.map((a) => [a.name, a.ttl, a.type, a.data])).toEqual([
      [`_rdzv._tcp.${service}.`, 5, 'SRV', `0 50 29400 ${pod(0)}.`],
      [`_rdzv._tcp.${service}.`, 5, 'SRV', `0 50 29400 ${pod(1)}.`],
    ]);
    expect(r.additional.map((a) => [a.name, a.type, a.data])).toEqual([
      [`${pod(0)}.`, 'A', '10.1.0.1'],
      [`${pod(0)}.`, 'AAAA', 'fd00::1'],
      [`${pod(1)}.`, 'A', '10.1.0.2'],
    ]);
    expect((await dig(dns.address, `_other._tcp.${service}`, 'SRV')).status).toBe('NXDOMAIN');
  });
});

describe('truncation and TCP fallback', () => {
  const fill = (count: number) => {
    dns.addService({ name: SVC, namespace: NS });
    for (let i = 0; i < count; i++) {
      dns.setPod({
        hostname: `job-${i}`,
        subdomain: SVC,
        namespace: NS,
        addresses: [`10.1.${i >> 8}.${i & 255}`],
        ready: true,
      });
    }
  };

  it('cuts a plain UDP answer at 512 bytes with TC=1 and whole records; dig then retries over TCP', async () => {
    fill(60);
    const udp = await dig(dns.address, service, 'A', ['+noedns', '+ignore']);
    expect(udp.flags).toContain('tc');
    // 12 header + the question, then 16 bytes per A record (owner compressed to the question).
    expect(udp.answer).toHaveLength(Math.floor((512 - 12 - QUESTION) / 16));
    expect(udp.answer.map((a) => a.data)).toEqual(
      Array.from({ length: udp.answer.length }, (_, i) => `10.1.${i >> 8}.${i & 255}`),
    );
    const retried = await dig(dns.address, service, 'A', ['+noedns']);
    expect(retried.retriedTcp).toBe(true);
    expect(retried.flags).not.toContain('tc');
    expect(retried.answer).toHaveLength(60);
    expect(dns.stats().truncated).toBe(2);
    expect(dns.stats().tcp).toBe(1);
  });

  it("fills the client's advertised EDNS size, and no more than maxUdpPayload", async () => {
    fill(300);
    const edns = await dig(dns.address, service, 'A', ['+bufsize=1232', '+ignore']);
    expect(edns.flags).toContain('tc');
    expect(edns.ednsUdp).toBe(1232);
    expect(edns.answer).toHaveLength(Math.floor((1232 - 12 - QUESTION - 11) / 16));
    const small = await dig(dns.address, service, 'A', ['+bufsize=100', '+ignore']);
    expect(small.answer).toHaveLength(Math.floor((512 - 12 - QUESTION - 11) / 16));
    const big = await dig(dns.address, service, 'A', ['+bufsize=4000', '+ignore']);
    expect(big.answer).toHaveLength(Math.floor((4000 - 12 - QUESTION - 11) / 16));
    await dns.close();
    dns = await ClusterDnsServer.start({ maxUdpPayload: 1500 });
    fill(300);
    const capped = await dig(dns.address, service, 'A', ['+bufsize=4000', '+ignore']);
    expect(capped.flags).toContain('tc');
    expect(capped.answer).toHaveLength(Math.floor((1500 - 12 - QUESTION - 11) / 16));
  });

  it('answers a 200-pod Service whole over TCP', async () => {
    fill(200);
    const r = await dig(dns.address, service, 'A', ['+tcp']);
    expect(r.status).toBe('NOERROR');
    expect(r.flags).not.toContain('tc');
    expect(r.answer).toHaveLength(200);
    expect(new Set(r.answer.map((a) => a.data)).size).toBe(200);
  });
});

describe('protocol corners', () => {
  it('answers NOTIMP to opcodes other than QUERY, FORMERR without a question, BADVERS to EDNS version 1', async () => {
    expect((await dig(dns.address, pod(0), 'A', ['+opcode=status'])).status).toBe('NOTIMP');
    expect((await dig(dns.address, pod(0), 'A', ['+opcode=update'])).status).toBe('NOTIMP');
    expect((await dig(dns.address, pod(0), 'A', ['+header-only'])).status).toBe('FORMERR');
    expect((await dig(dns.address, pod(0), 'A', ['+edns=1', '+noednsnegotiation'])).status).toBe('BADVERS');
  });

  it('answers SOA and NS at the apex, NODATA for the namespace label, REFUSED for zone transfers', async () => {
    dns.addService({ name: SVC, namespace: NS });
    const soa = await dig(dns.address, 'cluster.local', 'SOA');
    expect(soa.answer.map((a) => a.type)).toEqual(['SOA']);
    const ns = await dig(dns.address, 'cluster.local', 'NS');
    expect(ns.answer.map((a) => a.data)).toEqual(['ns.dns.cluster.local.']);
    expect((await dig(dns.address, 'ns.dns.cluster.local', 'A')).answer.map((a) => a.data)).toEqual([
      '127.0.0.1',
    ]);
    const ent = await dig(dns.address, `${NS}.svc.cluster.local`, 'A');
    expect([ent.status, ent.answer.length, ent.authority.length]).toEqual(['NOERROR', 0, 1]);
    expect(await digRaw(dns.address, 'cluster.local', 'AXFR')).toMatch(/Transfer failed/);
    expect(dns.stats().byRcode.REFUSED).toBe(1);
  });

  it('serves another zone name when configured', async () => {
    await dns.close();
    dns = await ClusterDnsServer.start({ zone: 'corp.example' });
    dns.addService({ name: SVC, namespace: NS });
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.1.0.7'], ready: true });
    expect((await dig(dns.address, `job-0.${SVC}.${NS}.svc.corp.example`)).answer.map((a) => a.data)).toEqual(
      ['10.1.0.7'],
    );
    expect((await dig(dns.address, pod(0))).status).toBe('REFUSED');
  });

  it('counts queries by name and type, and resets', async () => {
    const events: string[] = [];
    await dns.close();
    dns = await ClusterDnsServer.start({
      onQuery: (e) => events.push(`${e.transport} ${e.type} ${e.name} ${e.rcode}`),
    });
    dns.addService({ name: SVC, namespace: NS });
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.1.0.7'], ready: true });
    await dig(dns.address, pod(0), 'A');
    await dig(dns.address, pod(0).toUpperCase(), 'A');
    await dig(dns.address, `${pod(0)}.`, 'AAAA');
    await dig(dns.address, pod(1), 'SRV', ['+tcp']);
    await dig(dns.address, pod(1), 'TXT');
    const stats = dns.stats();
    expect(stats.total).toBe(5);
    expect(stats.byName.get(pod(0))).toEqual({ A: 2, AAAA: 1, SRV: 0, other: 0 });
    expect(stats.byName.get(pod(1))).toEqual({ A: 0, AAAA: 0, SRV: 1, other: 1 });
    expect(stats.byType).toEqual({ A: 2, AAAA: 1, SRV: 1, other: 1 });
    expect(stats.byRcode).toEqual({ NOERROR: 3, NXDOMAIN: 2 });
    expect([stats.udp, stats.tcp]).toEqual([4, 1]);
    expect(events).toEqual([
      `udp A ${pod(0)} NOERROR`,
      `udp A ${pod(0)} NOERROR`,
      `udp AAAA ${pod(0)} NOERROR`,
      `tcp SRV ${pod(1)} NXDOMAIN`,
      `udp TYPE16 ${pod(1)} NXDOMAIN`,
    ]);
    stats.byName.clear();
    expect(dns.stats().byName.size).toBe(2);
    dns.resetStats();
    expect(dns.stats()).toMatchObject({ total: 0, udp: 0, tcp: 0, byRcode: {} });
    expect(dns.stats().byName.size).toBe(0);
  });
});
