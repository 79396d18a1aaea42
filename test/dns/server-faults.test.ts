// Fault knobs of the DNS server, each made deterministic with an injected random source and clock.
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterDnsServer, type DnsQueryEvent } from '../../src/dns/server.js';
import { dig, startWithPods, udpQuery } from './server-helpers.js';

const NS = 'ns';
const SVC = 'svc';
const pod = (i: number) => `job-${i}.${SVC}.${NS}.svc.cluster.local`;
const service = `${SVC}.${NS}.svc.cluster.local`;

/** A random source that plays back `values` in order (and fails the test if it runs out). */
function sequence(values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i++];
    if (v === undefined) throw new Error('random() called more often than the test planned');
    return v;
  };
}

let dns: ClusterDnsServer | undefined;
afterEach(async () => {
  await dns?.close();
  dns = undefined;
});

async function started(
  options: Parameters<typeof ClusterDnsServer.start>[0] = {},
): Promise<ClusterDnsServer> {
  dns = await startWithPods(options, SVC, NS, 2, '10.2.0');
  return dns;
}

describe('drop ratio', () => {
  it('leaves the queries whose draw falls below the ratio unanswered', async () => {
    const events: DnsQueryEvent[] = [];
    const server = await started({
      faults: { dropRatio: 0.5 },
      random: sequence([0.49, 0.5, 0.1, 0.99]),
      onQuery: (e) => events.push(e),
    });
    const outcomes: (string | undefined)[] = [];
    // Wait long for the answers that must come, briefly for the ones that must not (the stats confirm).
    for (const timeoutMs of [300, 3000, 300, 3000]) {
      outcomes.push((await udpQuery(server.address, pod(0), 'A', timeoutMs))?.rcode);
    }
    expect(outcomes).toEqual([undefined, 'NOERROR', undefined, 'NOERROR']);
    expect(events.map((e) => e.rcode)).toEqual([undefined, 'NOERROR', undefined, 'NOERROR']);
    expect(server.stats()).toMatchObject({ total: 4, dropped: 2, byRcode: { NOERROR: 2 } });
  });

  it('can be turned on and off at run time', async () => {
    const server = await started({ random: sequence([0]) });
    expect((await udpQuery(server.address, pod(0)))?.rcode).toBe('NOERROR');
    server.setFaults({ dropRatio: 1 });
    expect(await udpQuery(server.address, pod(0), 'A', 300)).toBeUndefined();
    server.setFaults({ dropRatio: 0 });
    expect((await udpQuery(server.address, pod(0)))?.rcode).toBe('NOERROR');
    expect(server.faults.dropRatio).toBe(0);
  });
});

describe('SERVFAIL ratio', () => {
  it('answers SERVFAIL without records or AA to the queries whose draw falls below the ratio', async () => {
    const server = await started({ faults: { servfailRatio: 0.3 }, random: sequence([0.2, 0.3, 0.29]) });
    const first = await dig(server.address, pod(0));
    expect(first.status).toBe('SERVFAIL');
    expect(first.flags).not.toContain('aa');
    expect(first.answer).toEqual([]);
    expect((await dig(server.address, pod(0))).status).toBe('NOERROR');
    expect((await dig(server.address, pod(1), 'A', ['+tcp'])).status).toBe('SERVFAIL');
    expect(server.stats()).toMatchObject({ servfailInjected: 2, byRcode: { SERVFAIL: 2, NOERROR: 1 } });
  });

  it('draws for the drop first, then for SERVFAIL', async () => {
    const server = await started({
      faults: { dropRatio: 0.5, servfailRatio: 0.5 },
      random: sequence([0.7, 0.2, 0.7, 0.8]),
    });
    expect((await udpQuery(server.address, pod(0)))?.rcode).toBe('SERVFAIL');
    expect((await udpQuery(server.address, pod(0)))?.rcode).toBe('NOERROR');
  });
});

describe('answer delay', () => {
  it('holds answers back by delayMs, and per-name delays win over it', async () => {
    const events: DnsQueryEvent[] = [];
    const server = await started({
      faults: {
        delayMs: 150,
        delays: [
          { match: pod(1), ms: 0 },
          { match: '*.other.svc.cluster.local', ms: 20 },
        ],
      },
      onQuery: (e) => events.push(e),
    });
    const delayed = await dig(server.address, pod(0));
    expect(delayed.status).toBe('NOERROR');
    const queryTime = Number(/Query time: (\d+) msec/.exec(delayed.raw)?.[1]);
    expect(queryTime).toBeGreaterThanOrEqual(140);
    await dig(server.address, `${pod(1).toUpperCase()}.`);
    await dig(server.address, 'x.other.svc.cluster.local');
    expect(events.map((e) => e.delayMs)).toEqual([150, 0, 20]);
    expect(server.stats().delayed).toBe(2);
  });

  it('matches RegExp patterns, and delays TCP answers too', async () => {
    const events: DnsQueryEvent[] = [];
    const server = await started({
      faults: { delays: [{ match: /^job-0\./, ms: 120 }] },
      onQuery: (e) => events.push(e),
    });
    const r = await dig(server.address, pod(0), 'A', ['+tcp']);
    expect(r.answer.map((a) => a.data)).toEqual(['10.2.0.0']);
    expect(Number(/Query time: (\d+) msec/.exec(r.raw)?.[1])).toBeGreaterThanOrEqual(110);
    await dig(server.address, pod(1));
    expect(events.map((e) => [e.transport, e.delayMs])).toEqual([
      ['tcp', 120],
      ['udp', 0],
    ]);
  });
});

describe('stale records', () => {
  it('serves a removed pod for staleForMs after removal, then NXDOMAIN', async () => {
    const clock = { t: 5_000 };
    const server = await started({ faults: { staleForMs: 2_000 }, now: () => clock.t });
    server.removePod({ hostname: 'job-0', subdomain: SVC, namespace: NS });
    expect((await dig(server.address, pod(0))).answer.map((a) => a.data)).toEqual(['10.2.0.0']);
    expect((await dig(server.address, service)).answer.map((a) => a.data)).toEqual(['10.2.0.0', '10.2.0.1']);
    clock.t += 1_999;
    expect((await dig(server.address, pod(0))).status).toBe('NOERROR');
    clock.t += 1;
    expect((await dig(server.address, pod(0))).status).toBe('NXDOMAIN');
    expect((await dig(server.address, service)).answer.map((a) => a.data)).toEqual(['10.2.0.1']);
  });

  it('serves a pod that lost readiness for staleForMs, set at run time', async () => {
    const clock = { t: 0 };
    const server = await started({ now: () => clock.t });
    server.setFaults({ staleForMs: 500 });
    server.setPod({
      hostname: 'job-0',
      subdomain: SVC,
      namespace: NS,
      addresses: ['10.2.0.0'],
      ready: false,
    });
    expect((await dig(server.address, pod(0))).status).toBe('NOERROR');
    clock.t = 500;
    expect((await dig(server.address, pod(0))).status).toBe('NXDOMAIN');
  });

  it('expires on the real clock too', async () => {
    const staleForMs = 800;
    const server = await started({ faults: { staleForMs } });
    const before = Date.now();
    server.removePod({ hostname: 'job-0', subdomain: SVC, namespace: NS });
    const after = Date.now();
    // Ask every 100 ms for 1.6 s (bounded). The server stamps the removal between `before` and `after`, so an
    // answer received before before+stale must still carry the address and a question sent after after+stale
    // must be NXDOMAIN; whatever the machine's speed, each answer is checked against its own timestamps.
    const answers: { sentAt: number; receivedAt: number; rcode: string | undefined }[] = [];
    for (let i = 0; i < 16; i++) {
      const sentAt = Date.now();
      const rcode = (await udpQuery(server.address, pod(0)))?.rcode;
      answers.push({ sentAt, receivedAt: Date.now(), rcode });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const a of answers) {
      if (a.receivedAt < before + staleForMs) expect(a.rcode).toBe('NOERROR');
      if (a.sentAt > after + staleForMs) expect(a.rcode).toBe('NXDOMAIN');
    }
    expect(answers.at(-1)?.sentAt).toBeGreaterThan(after + staleForMs);
    expect(answers.map((a) => a.rcode)).toContain('NXDOMAIN');
  });
});

describe('two addresses during a restart', () => {
  it('answers old and new address for restartOverlapMs, then only the new one', async () => {
    const clock = { t: 0 };
    const server = await started({ faults: { restartOverlapMs: 1_000 }, now: () => clock.t });
    server.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['10.2.9.9'], ready: true });
    const both = await dig(server.address, pod(0));
    expect(both.answer.map((a) => a.data)).toEqual(['10.2.0.0', '10.2.9.9']);
    expect((await dig(server.address, service)).answer.map((a) => a.data)).toEqual([
      '10.2.0.0',
      '10.2.9.9',
      '10.2.0.1',
    ]);
    clock.t = 1_000;
    expect((await dig(server.address, pod(0))).answer.map((a) => a.data)).toEqual(['10.2.9.9']);
  });
});

describe('fault validation', () => {
  it.each([
    [{ dropRatio: 1.5 }, /dropRatio "1.5" is invalid: expected a fraction 0–1/],
    [{ servfailRatio: -0.1 }, /servfailRatio "-0.1"/],
    [{ delayMs: Number.NaN }, /delayMs "NaN"/],
    [{ staleForMs: -1 }, /staleForMs "-1"/],
    [{ delays: [{ match: '', ms: 5 }] }, /delays\[0\].match ""/],
    [{ delays: [{ match: 'a', ms: -5 }] }, /delays\[0\].ms "-5"/],
    [{ dropratio: 0.1 }, /unknown DNS fault "dropratio"/],
  ])('rejects %j with a message naming the knob and value', async (faults, message) => {
    await expect(ClusterDnsServer.start({ faults: faults as never })).rejects.toThrow(message);
    const server = await started();
    expect(() => server.setFaults(faults as never)).toThrow(message);
    expect(server.faults.dropRatio).toBe(0);
  });

  it('rejects bad server options', async () => {
    await expect(ClusterDnsServer.start({ host: 'localhost' })).rejects.toThrow(
      /host "localhost" is invalid/,
    );
    await expect(ClusterDnsServer.start({ port: 70_000 })).rejects.toThrow(/port "70000" is invalid/);
    await expect(ClusterDnsServer.start({ ttl: -1 })).rejects.toThrow(/ttl "-1"/);
    await expect(ClusterDnsServer.start({ zone: 'a..b' })).rejects.toThrow(/DNS zone "a..b"/);
    await expect(ClusterDnsServer.start({ maxUdpPayload: 100 })).rejects.toThrow(/maxUdpPayload "100"/);
    await expect(ClusterDnsServer.start({ prot: 53 } as never)).rejects.toThrow(
      /unknown DNS server option "prot"/,
    );
  });
});
