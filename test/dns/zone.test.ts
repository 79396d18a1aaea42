// The record model alone (no sockets): which names exist and what they answer, with an injected clock.
import { describe, expect, it } from 'vitest';
import { ClusterZone } from '../../src/dns/zone.js';
import type { PodSpec, ZoneAnswer, ZoneRecord } from '../../src/dns/zone-types.js';

const NS = 'ns';
const SVC = 'svc';
const fqdn = (host: string) => `${host}.${SVC}.${NS}.svc.cluster.local`;
const SERVICE = `${SVC}.${NS}.svc.cluster.local`;

function pod(hostname: string, addresses: string[], ready = true): PodSpec {
  return { hostname, subdomain: SVC, namespace: NS, addresses, ready };
}

function addresses(answer: ZoneAnswer): string[] {
  return answer.answers.flatMap((r) => (r.type === 'A' || r.type === 'AAAA' ? [r.address] : []));
}

function clockedZone(linger: { staleForMs?: number; restartOverlapMs?: number } = {}) {
  const clock = { t: 1_000_000 };
  const zone = new ClusterZone({ now: () => clock.t, linger });
  return { zone, clock };
}

describe('ClusterZone pod records', () => {
  it('publishes a Ready pod with an address under an existing headless Service only', () => {
    const zone = new ClusterZone();
    zone.setPod(pod('job-0', ['10.0.0.1']));
    expect(zone.resolve(fqdn('job-0'), 'A').rcode).toBe('NXDOMAIN');
    zone.addService({ name: SVC, namespace: NS });
    const a = zone.resolve(fqdn('job-0'), 'A');
    expect(a.rcode).toBe('NOERROR');
    expect(a.authoritative).toBe(true);
    expect(a.answers).toEqual([{ type: 'A', name: fqdn('job-0'), ttl: 5, address: '10.0.0.1' }]);
    expect(a.authority).toEqual([]);
  });

  it.each([
    { ready: true, publishNotReady: false, addresses: ['10.0.0.1'], exists: true },
    { ready: false, publishNotReady: false, addresses: ['10.0.0.1'], exists: false },
    { ready: false, publishNotReady: true, addresses: ['10.0.0.1'], exists: true },
    { ready: false, publishNotReady: true, addresses: [], exists: false },
    { ready: true, publishNotReady: true, addresses: [], exists: false },
    { ready: true, publishNotReady: false, addresses: [], exists: false },
  ])('ready=$ready publishNotReadyAddresses=$publishNotReady addresses=$addresses → exists=$exists', (c) => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS, publishNotReadyAddresses: c.publishNotReady });
    zone.setPod(pod('job-0', c.addresses, c.ready));
    expect(zone.resolve(fqdn('job-0'), 'A').rcode).toBe(c.exists ? 'NOERROR' : 'NXDOMAIN');
    expect(zone.resolve(SERVICE, 'A').rcode).toBe(c.exists ? 'NOERROR' : 'NXDOMAIN');
  });

  it('splits dual-stack addresses into A and AAAA; the other type is NODATA with the SOA', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS });
    zone.setPod(pod('dual', ['10.0.0.1', 'FD00:0:0::1']));
    zone.setPod(pod('four', ['10.0.0.2']));
    zone.setPod(pod('six', ['fd00::2']));
    expect(addresses(zone.resolve(fqdn('dual'), 'A'))).toEqual(['10.0.0.1']);
    expect(addresses(zone.resolve(fqdn('dual'), 'AAAA'))).toEqual(['fd00::1']);
    expect(addresses(zone.resolve(fqdn('dual'), 'ANY'))).toEqual(['10.0.0.1', 'fd00::1']);
    const nodata = zone.resolve(fqdn('four'), 'AAAA');
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
    expect(nodata.authority.map((r) => r.type)).toEqual(['SOA']);
    expect(zone.resolve(fqdn('six'), 'A').answers).toEqual([]);
    expect(zone.resolve(fqdn('six'), 'OTHER').rcode).toBe('NOERROR');
  });

  it('matches names in any case, with or without the trailing dot', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    for (const name of [
      fqdn('job-0'),
      `${fqdn('job-0')}.`,
      fqdn('job-0').toUpperCase(),
      'Job-0.SVC.ns.svc.cluster.LOCAL.',
    ]) {
      expect(addresses(zone.resolve(name, 'A')), name).toEqual(['10.0.0.1']);
    }
  });

  it('upserts pods by hostname, subdomain and namespace, deduplicating and canonicalising addresses', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS });
    zone.setPod(pod('job-0', ['10.0.0.1', '10.0.0.1', '2001:DB8:0:0:0:0:0:1']));
    expect(addresses(zone.resolve(fqdn('job-0'), 'ANY'))).toEqual(['10.0.0.1', '2001:db8::1']);
    zone.setPod(pod('job-0', ['10.0.0.9']));
    expect(addresses(zone.resolve(fqdn('job-0'), 'ANY'))).toEqual(['10.0.0.9']);
  });

  it('removes a pod at once by default, and says whether there was one', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    expect(zone.removePod({ hostname: 'job-0', subdomain: SVC, namespace: NS })).toBe(true);
    expect(zone.resolve(fqdn('job-0'), 'A').rcode).toBe('NXDOMAIN');
    expect(zone.resolve(SERVICE, 'A').rcode).toBe('NXDOMAIN');
    expect(zone.removePod({ hostname: 'job-0', subdomain: SVC, namespace: NS })).toBe(false);
  });

  it('keeps pods of other namespaces and subdomains apart', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS });
    zone.addService({ name: SVC, namespace: 'other' });
    zone.addService({ name: 'svc2', namespace: NS });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    zone.setPod({
      hostname: 'job-0',
      subdomain: SVC,
      namespace: 'other',
      addresses: ['10.0.1.1'],
      ready: true,
    });
    zone.setPod({
      hostname: 'job-0',
      subdomain: 'svc2',
      namespace: NS,
      addresses: ['10.0.2.1'],
      ready: true,
    });
    expect(addresses(zone.resolve(fqdn('job-0'), 'A'))).toEqual(['10.0.0.1']);
    expect(addresses(zone.resolve('job-0.svc.other.svc.cluster.local', 'A'))).toEqual(['10.0.1.1']);
    expect(addresses(zone.resolve('job-0.svc2.ns.svc.cluster.local', 'A'))).toEqual(['10.0.2.1']);
    expect(addresses(zone.resolve('svc2.ns.svc.cluster.local', 'A'))).toEqual(['10.0.2.1']);
  });

  it('withdraws the records of a deleted Service and restores them when it comes back', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS, ports: [{ name: 'http', port: 80 }] });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    expect(zone.removeService({ name: SVC, namespace: NS })).toBe(true);
    expect(zone.removeService({ name: SVC, namespace: NS })).toBe(false);
    for (const name of [fqdn('job-0'), SERVICE, `_http._tcp.${SERVICE}`]) {
      expect(zone.resolve(name, 'ANY').rcode, name).toBe('NXDOMAIN');
    }
    zone.addService({ name: SVC, namespace: NS });
    expect(addresses(zone.resolve(fqdn('job-0'), 'A'))).toEqual(['10.0.0.1']);
  });
});

describe('ClusterZone Service names and SRV', () => {
  it('answers every published address of the Service in the order pods were first set', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS });
    for (const i of [3, 1, 2]) zone.setPod(pod(`job-${i}`, [`10.0.0.${i}`, `fd00::${i}`]));
    zone.setPod(pod('job-1', ['10.0.0.11']));
    expect(addresses(zone.resolve(SERVICE, 'A'))).toEqual(['10.0.0.3', '10.0.0.11', '10.0.0.2']);
    expect(addresses(zone.resolve(SERVICE, 'AAAA'))).toEqual(['fd00::3', 'fd00::2']);
  });

  it('has SRV records only for named ports, one per pod, targets the pods, addresses in Additional', () => {
    const zone = new ClusterZone();
    zone.addService({
      name: SVC,
      namespace: NS,
      ports: [
        { name: 'rdzv', port: 29400 },
        { name: 'dns', port: 53, protocol: 'udp' },
      ],
    });
    zone.setPod(pod('job-0', ['10.0.0.1', 'fd00::1']));
    zone.setPod(pod('job-1', ['10.0.0.2']));
    zone.setPod(pod('job-2', ['10.0.0.3'], false));
    const srv = zone.resolve(`_rdzv._tcp.${SERVICE}`, 'SRV');
    expect(srv.rcode).toBe('NOERROR');
    expect(srv.answers).toEqual([
      {
        type: 'SRV',
        name: `_rdzv._tcp.${SERVICE}`,
        ttl: 5,
        priority: 0,
        weight: 50,
        port: 29400,
        target: fqdn('job-0'),
      },
      {
        type: 'SRV',
        name: `_rdzv._tcp.${SERVICE}`,
        ttl: 5,
        priority: 0,
        weight: 50,
        port: 29400,
        target: fqdn('job-1'),
      },
    ]);
    expect(srv.additional).toEqual([
      { type: 'A', name: fqdn('job-0'), ttl: 5, address: '10.0.0.1' },
      { type: 'AAAA', name: fqdn('job-0'), ttl: 5, address: 'fd00::1' },
      { type: 'A', name: fqdn('job-1'), ttl: 5, address: '10.0.0.2' },
    ]);
    expect(zone.resolve(`_dns._udp.${SERVICE}`, 'SRV').answers).toHaveLength(2);
    expect(zone.resolve(`_dns._tcp.${SERVICE}`, 'SRV').rcode).toBe('NXDOMAIN');
    expect(zone.resolve(`_http._tcp.${SERVICE}`, 'SRV').rcode).toBe('NXDOMAIN');
    const a = zone.resolve(`_rdzv._tcp.${SERVICE}`, 'A');
    expect([a.rcode, a.answers.length, a.authority.length]).toEqual(['NOERROR', 0, 1]);
  });

  it('gives SRV weights of floor(100 / n) like CoreDNS, and NXDOMAIN with no endpoints', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS, ports: [{ name: 'p', port: 1 }] });
    expect(zone.resolve(`_p._tcp.${SERVICE}`, 'SRV').rcode).toBe('NXDOMAIN');
    for (let i = 0; i < 3; i++) zone.setPod(pod(`job-${i}`, [`10.0.0.${i}`]));
    const weights = zone
      .resolve(`_p._tcp.${SERVICE}`, 'SRV')
      .answers.map((r) => (r.type === 'SRV' ? r.weight : -1));
    expect(weights).toEqual([33, 33, 33]);
  });

  it('treats the namespace and svc labels as empty non-terminals (NODATA), unknown namespaces as NXDOMAIN', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS });
    expect(zone.resolve(`${NS}.svc.cluster.local`, 'A')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(zone.resolve('svc.cluster.local', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(zone.resolve('nope.svc.cluster.local', 'A').rcode).toBe('NXDOMAIN');
    expect(zone.resolve('pod.cluster.local', 'A').rcode).toBe('NXDOMAIN');
  });
});

describe('ClusterZone apex, SOA and refusal', () => {
  it('answers SOA and NS at the apex and NODATA for other types there', () => {
    const zone = new ClusterZone({ zone: 'Example.Cluster.', ttl: 30 });
    expect(zone.zone).toBe('example.cluster');
    const soa = zone.resolve('example.cluster', 'SOA').answers[0] as Extract<ZoneRecord, { type: 'SOA' }>;
    expect(soa).toMatchObject({
      name: 'example.cluster',
      ttl: 30,
      mname: 'ns.dns.example.cluster',
      rname: 'hostmaster.example.cluster',
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: 30,
    });
    expect(zone.resolve('example.cluster', 'NS').answers).toEqual([
      { type: 'NS', name: 'example.cluster', ttl: 30, target: 'ns.dns.example.cluster' },
    ]);
    expect(zone.resolve('example.cluster', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [] });
  });

  it('sets the negative SOA TTL to min(ttl, 300) and MINIMUM to ttl', () => {
    for (const [ttl, soaTtl] of [
      [0, 0],
      [5, 5],
      [300, 300],
      [3600, 300],
    ] as const) {
      const zone = new ClusterZone({ ttl });
      const answer = zone.resolve(fqdn('nobody'), 'A');
      expect(answer.rcode).toBe('NXDOMAIN');
      expect(answer.authority[0]).toMatchObject({ type: 'SOA', ttl: soaTtl, minimum: ttl });
    }
  });

  it('moves the SOA serial with every change', () => {
    const zone = new ClusterZone();
    const serial = () => (zone.soa() as Extract<ZoneRecord, { type: 'SOA' }>).serial;
    const before = serial();
    zone.addService({ name: SVC, namespace: NS });
    expect(serial()).toBe(before + 1);
    expect(zone.version).toBe(1);
  });

  it('answers ns.dns.<zone> with the nameserver address when one is given', () => {
    expect(
      addresses(new ClusterZone({ nameserverAddress: '127.0.0.53' }).resolve('ns.dns.cluster.local', 'A')),
    ).toEqual(['127.0.0.53']);
    expect(
      addresses(new ClusterZone({ nameserverAddress: '::1' }).resolve('ns.dns.cluster.local', 'AAAA')),
    ).toEqual(['::1']);
    expect(new ClusterZone().resolve('ns.dns.cluster.local', 'A').rcode).toBe('NXDOMAIN');
  });

  it('refuses names outside the zone, including look-alike suffixes', () => {
    const zone = new ClusterZone();
    for (const name of ['example.com', 'local', 'xcluster.local', 'cluster.local.example', '']) {
      expect(zone.resolve(name, 'A'), name).toMatchObject({
        rcode: 'REFUSED',
        authoritative: false,
        authority: [],
      });
    }
  });
});

describe('ClusterZone lingering records', () => {
  it('serves a removed pod for staleForMs, then NXDOMAIN, and reports when the answer expires', () => {
    const { zone, clock } = clockedZone({ staleForMs: 3000 });
    zone.addService({ name: SVC, namespace: NS });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    zone.removePod({ hostname: 'job-0', subdomain: SVC, namespace: NS });
    const stale = zone.resolve(fqdn('job-0'), 'A');
    expect(addresses(stale)).toEqual(['10.0.0.1']);
    expect(stale.validUntil).toBe(clock.t + 3000);
    expect(addresses(zone.resolve(SERVICE, 'A'))).toEqual(['10.0.0.1']);
    clock.t += 2999;
    expect(zone.resolve(fqdn('job-0'), 'A').rcode).toBe('NOERROR');
    clock.t += 1;
    expect(zone.resolve(fqdn('job-0'), 'A').rcode).toBe('NXDOMAIN');
    expect(zone.resolve(SERVICE, 'A').rcode).toBe('NXDOMAIN');
  });

  it('serves a pod that lost readiness for staleForMs', () => {
    const { zone, clock } = clockedZone({ staleForMs: 1000 });
    zone.addService({ name: SVC, namespace: NS });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    zone.setPod(pod('job-0', ['10.0.0.1'], false));
    expect(addresses(zone.resolve(fqdn('job-0'), 'A'))).toEqual(['10.0.0.1']);
    clock.t += 1000;
    expect(zone.resolve(fqdn('job-0'), 'A').rcode).toBe('NXDOMAIN');
  });

  it('answers old and new addresses of a restarted pod for restartOverlapMs, stale one first', () => {
    const { zone, clock } = clockedZone({ restartOverlapMs: 500 });
    zone.addService({ name: SVC, namespace: NS });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    zone.setPod(pod('job-0', ['10.0.0.2']));
    expect(addresses(zone.resolve(fqdn('job-0'), 'A'))).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(addresses(zone.resolve(SERVICE, 'A'))).toEqual(['10.0.0.1', '10.0.0.2']);
    clock.t += 500;
    expect(addresses(zone.resolve(fqdn('job-0'), 'A'))).toEqual(['10.0.0.2']);
  });

  it('does not linger by default, and a re-added address stops lingering', () => {
    const { zone, clock } = clockedZone();
    zone.addService({ name: SVC, namespace: NS });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    zone.setPod(pod('job-0', ['10.0.0.2']));
    expect(addresses(zone.resolve(fqdn('job-0'), 'A'))).toEqual(['10.0.0.2']);
    zone.setLinger({ restartOverlapMs: 100 });
    zone.setPod(pod('job-0', ['10.0.0.3']));
    zone.setPod(pod('job-0', ['10.0.0.2']));
    expect(addresses(zone.resolve(fqdn('job-0'), 'A'))).toEqual(['10.0.0.3', '10.0.0.2']);
    clock.t += 100;
    expect(addresses(zone.resolve(fqdn('job-0'), 'A'))).toEqual(['10.0.0.2']);
  });

  it('uses staleForMs for a removal followed by a new pod with the same hostname', () => {
    const { zone, clock } = clockedZone({ staleForMs: 200, restartOverlapMs: 50 });
    zone.addService({ name: SVC, namespace: NS, ports: [{ name: 'p', port: 9 }] });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    zone.removePod({ hostname: 'job-0', subdomain: SVC, namespace: NS });
    zone.setPod(pod('job-0', ['10.0.0.2']));
    expect(addresses(zone.resolve(fqdn('job-0'), 'A'))).toEqual(['10.0.0.1', '10.0.0.2']);
    const srv = zone.resolve(`_p._tcp.${SERVICE}`, 'SRV');
    expect(srv.answers).toHaveLength(1);
    expect(srv.additional.map((r) => (r.type === 'A' ? r.address : ''))).toEqual(['10.0.0.1', '10.0.0.2']);
    clock.t += 200;
    expect(addresses(zone.resolve(fqdn('job-0'), 'A'))).toEqual(['10.0.0.2']);
  });

  it('reports validUntil = Infinity when nothing lingers', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    expect(zone.resolve(fqdn('job-0'), 'A').validUntil).toBe(Number.POSITIVE_INFINITY);
  });

  it('lists the names that exist now', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS, ports: [{ name: 'p', port: 9 }] });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    zone.setPod(pod('job-1', ['10.0.0.2'], false));
    expect(zone.names().sort()).toEqual([`_p._tcp.${SERVICE}`, SERVICE, fqdn('job-0')].sort());
  });
});

describe('ClusterZone validation', () => {
  it.each([
    [() => new ClusterZone({ zone: 'bad_zone' }), /DNS zone "bad_zone"/],
    [() => new ClusterZone({ ttl: -1 }), /ttl "-1" is invalid/],
    [() => new ClusterZone({ ttl: 3601 }), /0–3600/],
    [() => new ClusterZone({ ttl: 1.5 }), /ttl "1.5"/],
    [() => new ClusterZone({ nameserverAddress: 'dns' }), /nameserverAddress "dns"/],
    [() => new ClusterZone({ linger: { staleForMs: -5 } }), /staleForMs "-5"/],
    [
      () => new ClusterZone().addService({ name: 'Bad', namespace: NS }),
      /Service name "Bad" is not a valid DNS-1123 label/,
    ],
    [() => new ClusterZone().addService({ name: SVC, namespace: 'a.b' }), /namespace "a.b"/],
    [
      () => new ClusterZone().addService({ name: SVC, namespace: NS, ports: [{ name: 'p', port: 0 }] }),
      /port 0 \(p\) number "0" is invalid/,
    ],
    [
      () => new ClusterZone().addService({ name: SVC, namespace: NS, ports: [{ name: '123', port: 80 }] }),
      /name "123" is invalid/,
    ],
    [
      () =>
        new ClusterZone().addService({
          name: SVC,
          namespace: NS,
          ports: [
            { name: 'p', port: 80 },
            { name: 'p', port: 81 },
          ],
        }),
      /port name "p" twice/,
    ],
    [() => new ClusterZone().setPod(pod('job_0', [])), /pod hostname "job_0"/],
    [
      () => new ClusterZone().setPod(pod('job-0', ['10.0.0.300'])),
      /address "10.0.0.300" is not an IPv4 or IPv6/,
    ],
    [() => new ClusterZone().setPod(pod('job-0', ['fe80::1%eth0'])), /address "fe80::1%eth0"/],
    [
      () => new ClusterZone().setPod({ ...pod('job-0', []), ready: 'yes' as unknown as boolean }),
      /ready "yes"/,
    ],
  ])('rejects bad input with a message naming the value (%#)', (fn, message) => {
    expect(fn).toThrow(message);
    try {
      fn();
    } catch (error) {
      expect((error as { code?: string }).code).toBe('RDV_ERR_USAGE');
    }
  });

  it('does not change the model when a call is rejected', () => {
    const zone = new ClusterZone();
    zone.addService({ name: SVC, namespace: NS });
    zone.setPod(pod('job-0', ['10.0.0.1']));
    expect(() => zone.setPod(pod('job-0', ['10.0.0.2', 'nope']))).toThrow();
    expect(addresses(zone.resolve(fqdn('job-0'), 'A'))).toEqual(['10.0.0.1']);
    expect(zone.version).toBe(2);
  });
});
