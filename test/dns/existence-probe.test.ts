// The existence probe against real servers (ARCHITECTURE.md, "Never poison a name"): a question for a private-use
// type is NXDOMAIN while a name has no record and NODATA once it has one, and its denial never hides the name's A
// record — the cache keeps it under that type only. Knot, unbound in front of Knot (caps of 30 s, as kubeadm's
// CoreDNS), dnsmasq --hostsdir, and the project's server without and with its cache mode (CoreDNS' keying).
import { afterEach, describe, expect, it } from 'vitest';
import { DnsClient } from '../../src/dns/client.js';
import { ClusterDnsServer } from '../../src/dns/server.js';
import type { DnsResult } from '../../src/dns/types.js';
import { absentSibling, ExistenceProbe } from '../../src/rendezvous/existence.js';
import { LookupGate } from '../../src/rendezvous/lookup.js';
import { startDnsmasq, startDnsmasqCache } from '../helpers/dnsmasq.js';
import { startKnot } from '../helpers/knot.js';
import { startCachedKnot } from '../helpers/unbound.js';

const NAME = 'job-1.workers.default.svc.cluster.local.';
const OTHER = 'job-2.workers.default.svc.cluster.local.';

interface World {
  /** Where the clients ask. */
  readonly server: { host: string; port: number };
  add(name: string, address: string): Promise<void>;
  stop(): Promise<void>;
}

const worlds: Record<string, () => Promise<World>> = {
  knot: async () => {
    const knot = await startKnot({ ttl: 30 });
    return {
      server: { host: knot.address, port: knot.port },
      add: (name, address) => knot.add(name, 'A', address),
      stop: () => knot.stop(),
    };
  },
  'unbound in front of knot (30 s)': async () => {
    const w = await startCachedKnot({ cacheSeconds: 30 });
    return {
      server: { host: w.cache.address, port: w.cache.port },
      add: (name, address) => w.knot.add(name, 'A', address),
      stop: () => w.stop(),
    };
  },
  'dnsmasq --no-negcache in front of knot (kube-dns)': async () => {
    const knot = await startKnot({ ttl: 30 });
    const cache = await startDnsmasqCache(knot, { negcache: false });
    return {
      server: { host: cache.address, port: cache.port },
      add: (name, address) => knot.add(name, 'A', address),
      stop: async () => {
        await cache.stop();
        await knot.stop();
      },
    };
  },
  'dnsmasq --hostsdir': async () => {
    const dm = await startDnsmasq({ ttl: 30 });
    return {
      server: { host: dm.address, port: dm.port },
      add: (name, address) => dm.setHost(name, [address]),
      stop: () => dm.stop(),
    };
  },
  ...Object.fromEntries(
    [0, 30].map((cacheSeconds) => [
      cacheSeconds === 0 ? 'ClusterDnsServer' : 'ClusterDnsServer in cache mode (30 s)',
      async (): Promise<World> => {
        const dns = await ClusterDnsServer.start({ host: '127.0.0.1', port: 0, ttl: 30, cacheSeconds });
        dns.addService({ name: 'workers', namespace: 'default' });
        return {
          server: dns.address,
          add: async (name, address) => {
            dns.setPod({
              hostname: name.split('.')[0]!,
              subdomain: 'workers',
              namespace: 'default',
              addresses: [address],
              ready: true,
            });
          },
          stop: () => dns.close(),
        };
      },
    ]),
  ),
};

let world: World | undefined;
let client: DnsClient | undefined;
afterEach(async () => {
  await client?.close();
  await world?.stop();
  client = undefined;
  world = undefined;
});

const addresses = (r: DnsResult): string[] =>
  r.kind === 'records' ? r.records.flatMap((x) => ('address' in x ? [x.address] : [])) : [];

describe.each(Object.keys(worlds))('%s', (label) => {
  it('a private-type question: NXDOMAIN before the record, NODATA after, and the A question is not denied', async () => {
    world = await worlds[label]!();
    client = new DnsClient({ servers: [world.server], timeoutMs: 2_000, attempts: 2 });
    expect((await client.query(NAME, 'TYPE65280')).kind).toBe('nxdomain');
    await world.add(NAME, '10.244.1.9');
    // The first probe's denial is kept (by a cache) under TYPE65280 only: the A question reaches the zone.
    expect(addresses(await client.query(NAME, 'A'))).toEqual(['10.244.1.9']);
    expect((await client.query(NAME, 'TYPE65281')).kind).toBe('nodata');
    // A name that surely does not exist is denied (what the probe's calibration asks).
    expect((await client.query(absentSibling(NAME)!, 'TYPE65282')).kind).toBe('nxdomain');
  }, 30_000);

  it('ExistenceProbe: absent, then exists once the record is there; reliable only after an `exists`', async () => {
    world = await worlds[label]!();
    client = new DnsClient({ servers: [world.server], timeoutMs: 2_000, attempts: 2 });
    const gate = new LookupGate(client, 0);
    const probe = new ExistenceProbe(gate, 0);
    const signal = new AbortController().signal;
    expect(await probe.check(NAME, signal)).toBe('absent');
    expect(probe.absentIsReliable).toBe(false);
    await world.add(OTHER, '10.244.1.10');
    expect(await probe.check(OTHER, signal)).toBe('exists');
    expect(probe.absentIsReliable).toBe(true);
    expect(await probe.check(NAME, signal)).toBe('absent');
    await world.add(NAME, '10.244.1.9');
    expect(await probe.check(NAME, signal)).toBe('exists');
    expect(addresses(await client.query(NAME, 'A'))).toEqual(['10.244.1.9']);
    // Each probe a new type (none answered from a cache), plus the calibration's two questions.
    expect(probe.probes).toBe(6);
    expect(gate.queries).toBe(6);
  }, 30_000);
});

describe('dnsmasq as a cache keeping denials in front of knot', () => {
  it('keeps a private-type NXDOMAIN for the name’s A question too; the calibration sees it and no name is probed', async () => {
    const knot = await startKnot({ ttl: 30 });
    const cache = await startDnsmasqCache(knot);
    world = {
      server: { host: cache.address, port: cache.port },
      add: (name, address) => knot.add(name, 'A', address),
      stop: async () => {
        await cache.stop();
        await knot.stop();
      },
    };
    client = new DnsClient({ servers: [world.server], timeoutMs: 2_000, attempts: 2 });
    // Why the probe must be off here: its denial is served for the A question after the record exists.
    expect((await client.query(OTHER, 'TYPE65280')).kind).toBe('nxdomain');
    await world.add(OTHER, '10.244.1.10');
    expect((await client.query(OTHER, 'A')).kind).toBe('nxdomain');
    // The probe finds that out on a name nobody has, before it asks any real one.
    const gate = new LookupGate(client, 0);
    const probe = new ExistenceProbe(gate, 10);
    expect(await probe.check(NAME, new AbortController().signal)).toBe('unknown');
    expect(probe.crossType).toBe(true);
    expect(gate.queries).toBe(2);
    await world.add(NAME, '10.244.1.9');
    expect(addresses(await client.query(NAME, 'A'))).toEqual(['10.244.1.9']);
  }, 30_000);
});
