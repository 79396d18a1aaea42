// The released-without-this-pod verdict (exit 75) must come only from the coordinator's own name resolving and
// its agent refusing: not from a stranger's announce, not from pods of another barrier under a shared Service.
// And the checks before a verdict ask no pod's name without evidence. (Found by a review of the merged code.)

import { randomBytes } from 'node:crypto';
import { getEventListeners, once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DnsClient } from '../../src/dns/client.js';
import { ClusterDnsServer } from '../../src/dns/server.js';
import { recoverReleased } from '../../src/rendezvous/after-release-server.js';
import { encodeFrame } from '../../src/rendezvous/frames.js';
import { LookupGate } from '../../src/rendezvous/lookup.js';
import { PROTOCOL_VERSION } from '../../src/rendezvous/messages.js';
import { waitForPeers } from '../../src/rendezvous/wait.js';
import { freePort, loopbackJob, NS, podIp, SVC } from '../helpers/job.js';

const TOKEN = 'a-long-random-token-0123456789';

/** An announce as anyone can send it: a hello, no proof, from `from`. */
async function forgedAnnounce(host: string, port: number, from: string, job: string): Promise<void> {
  const socket = connect({ host, port, localAddress: from });
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(
    encodeFrame({
      v: PROTOCOL_VERSION,
      type: 'hello',
      job,
      index: 0,
      incarnation: randomBytes(8).toString('hex'),
      purpose: 'announce',
      nonce: randomBytes(16).toString('hex'),
    }),
  );
  await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 1000))]);
  socket.destroy();
}

describe('the released-without-this-pod verdict', () => {
  it("a stranger's announces from an address nobody listens on give no verdict while pod 0's name never resolves", async () => {
    const job = await loopbackJob(2, 61);
    try {
      job.publish(1);
      const member = waitForPeers(job.options(1, { token: TOKEN, releasedAfterMs: 1500, timeoutMs: 4500 }));
      const outcome = member.then(
        () => 'released',
        (e: { code?: string }) => e.code,
      );
      await new Promise((r) => setTimeout(r, 300));
      await forgedAnnounce(podIp(61, 1), job.port, '127.61.9.9', 'default/example-job/2');
      await new Promise((r) => setTimeout(r, 2000));
      await forgedAnnounce(podIp(61, 1), job.port, '127.61.9.9', 'default/example-job/2');
      expect(await outcome).toBe('RDV_ERR_TIMEOUT');
    } finally {
      await job.close();
    }
  }, 15_000);

  it('pods of another barrier that refuse under the same Service give the coordinator no verdict', async () => {
    const job = await loopbackJob(2, 62, { publishNotReadyAddresses: true });
    try {
      job.publish(0);
      // Another group's pods under one Service (LWS Shared): running their workload, agent ports closed. The
      // Service lists more pods than the job has, so no refusal from it counts.
      for (const [i, address] of ['127.62.5.5', '127.62.5.6'].entries()) {
        job.dns.setPod({
          hostname: `other-group-${i}`,
          subdomain: SVC,
          namespace: NS,
          addresses: [address],
          ready: true,
        });
      }
      const outcome = await waitForPeers(job.options(0, { releasedAfterMs: 1500, timeoutMs: 4500 })).then(
        () => 'released',
        (e: { code?: string }) => e.code,
      );
      expect(outcome).toBe('RDV_ERR_TIMEOUT');
    } finally {
      await job.close();
    }
  }, 15_000);

  it("before a verdict a member looks for other waiting members in the Service's answer, asking no member's name", async () => {
    const asked: string[] = [];
    const dns = await ClusterDnsServer.start({
      host: '127.0.0.1',
      port: 0,
      ttl: 5,
      onQuery: (e) => asked.push(e.name),
    });
    dns.addService({ name: 'svc', namespace: 'default' });
    const port = await freePort();
    const pod = (i: number) =>
      dns.setPod({
        hostname: `example-job-${i}`,
        subdomain: 'svc',
        namespace: 'default',
        addresses: [`127.63.0.${i + 1}`],
        ready: true,
      });
    pod(0); // a record, no agent: refused
    pod(1); // this member; pod 2 has no record at all
    try {
      const outcome = await waitForPeers({
        index: 1,
        completions: 3,
        jobName: 'example-job',
        subdomain: 'svc',
        namespace: 'default',
        clusterDomain: 'cluster.local',
        hostname: 'example-job-1',
        listen: '127.63.0.2',
        port,
        dnsServer: `127.0.0.1:${dns.address.port}`,
        timeoutMs: 6000,
        releasedAfterMs: 1000,
        hostsFile: '/nonexistent',
        resolvConf: '/nonexistent',
        namespaceFile: '/nonexistent',
      }).then(
        () => 'released',
        (e: { code?: string }) => e.code,
      );
      expect(outcome).toBe('RDV_ERR_RELEASED');
      expect(asked.filter((q) => q.startsWith('example-job-2'))).toEqual([]);
    } finally {
      await dns.close();
    }
  }, 20_000);
});

describe("a replacement pod 0's roster recovery", () => {
  it('leaves no abort listener behind per round while it waits', async () => {
    const abort = new AbortController();
    const gate = new LookupGate(
      new DnsClient({ servers: [{ host: '127.0.0.1', port: 9 }], timeoutMs: 100, attempts: 1 }),
      10,
    );
    const recovery = recoverReleased({
      completions: 3,
      peers: ['127.64.0.1', '127.64.0.2', '127.64.0.3'],
      serviceName: undefined,
      jobKey: 'k',
      token: TOKEN,
      port: await freePort(),
      listen: '127.64.0.1',
      handshakeTimeoutMs: 1000,
      gate,
      signal: abort.signal,
      intervalMs: 50,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const listeners = getEventListeners(abort.signal, 'abort').length;
    abort.abort();
    await recovery;
    expect(listeners).toBeLessThanOrEqual(2);
  }, 10_000);
});
