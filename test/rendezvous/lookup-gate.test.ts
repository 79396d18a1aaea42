// LookupGate against a real DNS server: a shared question does not die with its first caller, denials are
// remembered for their negative TTL; waitForPeers leaves no listener on the caller's signal.
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsClient } from '../../src/dns/client.js';
import { ClusterDnsServer } from '../../src/dns/server.js';
import { LookupGate, resolveUntil } from '../../src/rendezvous/lookup.js';
import { waitForPeers } from '../../src/rendezvous/wait.js';

const NAME = 'job-2.svc.default.svc.cluster.local.';

let dns: ClusterDnsServer | undefined;
let client: DnsClient | undefined;
afterEach(async () => {
  await client?.close();
  await dns?.close();
  dns = undefined;
  client = undefined;
});

async function start(delayMs: number): Promise<LookupGate> {
  dns = await ClusterDnsServer.start({ host: '127.0.0.1', port: 0, ttl: 5, faults: { delayMs } });
  dns.addService({ name: 'svc', namespace: 'default' });
  client = new DnsClient({ servers: [dns.address] });
  return new LookupGate(client, 10, Date.now, new AbortController().signal);
}

describe('LookupGate', () => {
  it('a shared question in flight survives its first caller aborting (review #6)', async () => {
    const gate = await start(150);
    dns!.setPod({
      hostname: 'job-2',
      subdomain: 'svc',
      namespace: 'default',
      addresses: ['10.0.0.2'],
      ready: true,
    });
    const first = new AbortController();
    const old = gate.query(NAME, 'A', first.signal);
    await new Promise((r) => setTimeout(r, 30)); // the question is on the wire
    first.abort(new Error('old probe replaced'));
    const fresh = gate.query(NAME, 'A', new AbortController().signal);
    await expect(old).rejects.toThrow('old probe replaced');
    await expect(fresh).resolves.toMatchObject({ kind: 'records', records: [{ address: '10.0.0.2' }] });
    expect(gate.queries).toBe(1);
  });

  it('the same through resolveUntil: the re-started probe finds the address', async () => {
    const gate = await start(60);
    const policy = () => ({ first: 10, factor: 2, cap: 50, floor: 10 });
    const old = new AbortController();
    const oldProbe = resolveUntil(gate, NAME, (a) => a.includes('10.0.0.2'), {
      policy,
      deadline: Date.now() + 3000,
      signal: old.signal,
      respectDenial: false,
    });
    await new Promise((r) => setTimeout(r, 20));
    old.abort(new Error('replaced'));
    setTimeout(
      () =>
        dns!.setPod({
          hostname: 'job-2',
          subdomain: 'svc',
          namespace: 'default',
          addresses: ['10.0.0.2'],
          ready: true,
        }),
      100,
    );
    const fresh = resolveUntil(gate, NAME, (a) => a.includes('10.0.0.2'), {
      policy,
      deadline: Date.now() + 3000,
      signal: new AbortController().signal,
      respectDenial: false,
    });
    await expect(oldProbe).rejects.toThrow('replaced');
    await expect(fresh).resolves.toEqual(['10.0.0.2']);
  });

  it('remembers a denial for min(SOA TTL, MINIMUM) and does not ask again before', async () => {
    const gate = await start(0);
    const a = await gate.addresses(NAME);
    expect(a).toMatchObject({ state: 'nxdomain', queries: 1, denial: { ttl: 5, minimum: 5 } });
    expect(a.detail).toMatch(
      /^NXDOMAIN for job-2\.svc\.default\.svc\.cluster\.local\. is cached until \d\d:\d\d:\d\d \(SOA MINIMUM 5 s\) by 127\.0\.0\.1:\d+$/,
    );
    dns!.setPod({
      hostname: 'job-2',
      subdomain: 'svc',
      namespace: 'default',
      addresses: ['10.0.0.2'],
      ready: true,
    });
    const again = await gate.addresses(NAME);
    expect(again).toMatchObject({ state: 'nxdomain', queries: 0 });
    expect(gate.queries).toBe(1);
    // Unless told otherwise (the Service name, polled for evidence).
    expect(await gate.addresses(NAME, undefined, { respectDenial: false })).toMatchObject({
      addresses: ['10.0.0.2'],
    });
  });
});

describe('waitForPeers and the caller signal', () => {
  it('15 waits with one app-wide signal leave no abort listener on it (review #6)', async () => {
    const app = new AbortController();
    for (let i = 0; i < 15; i++) {
      await waitForPeers({
        peers: '127.0.0.31',
        index: 0,
        listen: '127.0.0.31',
        port: 29631,
        signal: app.signal,
      });
    }
    expect(getEventListeners(app.signal, 'abort')).toHaveLength(0);
  });
});
