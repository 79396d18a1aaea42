// Release frames every member accepts: addresses per pod capped (connecting address first) by the
// coordinator, and a member that refuses a release says why and tells the coordinator, so that nobody starts
// (no split release). Real sockets on 127.40.x.y, the project's DNS server.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Channel } from '../../src/rendezvous/channel.js';
import { encodeFrame, FrameDecoder } from '../../src/rendezvous/frames.js';
import { initiate } from '../../src/rendezvous/handshake.js';
import { MAX_ADDRESSES_PER_POD, PROTOCOL_VERSION } from '../../src/rendezvous/messages.js';
import { waitForPeers } from '../../src/rendezvous/wait.js';
import { startBin } from '../helpers/cli.js';
import { JOB, type LoopbackJob, loopbackJob, NS, podFlags, podIp, SVC } from '../helpers/job.js';

const BLOCK = 40;
let job: LoopbackJob | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await job?.close();
  job = undefined;
});

/** Pod i's name with its own address and 16 more: 17 A records. */
function publishSeventeen(j: LoopbackJob, i: number): string[] {
  const others = Array.from({ length: 16 }, (_, k) => `10.40.${i}.${k + 1}`);
  const all = [...others.slice(0, 7), podIp(BLOCK, i), ...others.slice(7)];
  j.dns.setPod({ hostname: `${JOB}-${i}`, subdomain: SVC, namespace: NS, addresses: all, ready: true });
  return all;
}

describe('release frames', () => {
  it('a pod name with 17 A records: every pod is released, at most 16 addresses, the connecting one first', async () => {
    job = await loopbackJob(3, BLOCK);
    job.publish(0);
    const seventeen = publishSeventeen(job, 1);
    job.publish(2);
    const results = await Promise.all([0, 1, 2].map((i) => waitForPeers(job!.options(i))));
    expect(new Set(results.map((r) => r.generation)).size).toBe(1);
    for (const r of results) {
      const pod1 = r.peers[1]!.addresses;
      expect(pod1.length).toBeLessThanOrEqual(MAX_ADDRESSES_PER_POD);
      expect(pod1[0]).toBe(podIp(BLOCK, 1));
      for (const a of pod1) expect(seventeen).toContain(a);
      expect(r.peers[2]!.addresses).toEqual([podIp(BLOCK, 2)]);
    }
    expect(results[0]!.peers[1]!.addresses).toHaveLength(MAX_ADDRESSES_PER_POD);
  }, 20_000);

  it('the same with real wait processes: exit codes 0/0/0 (not 0/124/124), the ready files agree', async () => {
    job = await loopbackJob(3, BLOCK);
    job.publish(0);
    publishSeventeen(job, 1);
    job.publish(2);
    const dir = mkdtempSync(join(tmpdir(), 'rdv-release-'));
    try {
      const runs = [0, 1, 2].map((i) =>
        startBin(['wait', ...podFlags(job!, i), '--ready-file', join(dir, `ready-${i}.json`)]),
      );
      const ended = await Promise.all(runs.map((r) => r.done));
      expect(ended.map((e) => e.code)).toEqual([0, 0, 0]);
      const rosters = [0, 1, 2].map(
        (i) =>
          JSON.parse(readFileSync(join(dir, `ready-${i}.json`), 'utf8')) as {
            peers: { addresses: string[] }[];
          },
      );
      for (const r of rosters) {
        expect(r.peers[1]!.addresses[0]).toBe(podIp(BLOCK, 1));
        expect(r.peers[1]!.addresses).toHaveLength(MAX_ADDRESSES_PER_POD);
        expect(r.peers).toEqual(rosters[0]!.peers);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('a member that gets a release it cannot use fails at once, says why, and sends the coordinator a reject', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    job.publish(1);
    // A coordinator of a release that sent 17 addresses for a pod (what the split release of issue 12 was).
    const back: Record<string, unknown>[] = [];
    let closed!: () => void;
    const memberClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.on('close', () => closed());
      const decoder = new FrameDecoder(1 << 20);
      socket.on('data', (chunk) => {
        for (const f of decoder.push(chunk) as Record<string, unknown>[]) {
          back.push(f);
          if (f.type === 'hello')
            socket.write(
              encodeFrame({ v: 2, type: 'challenge', job: f.job, index: 0, incarnation: 'c', nonce: 'n' }),
            );
          if (f.type === 'auth') {
            socket.write(encodeFrame({ v: 2, type: 'accepted', proof: '' }));
            const many = Array.from({ length: 17 }, (_, k) => `10.40.9.${k + 1}`);
            socket.write(
              encodeFrame({ v: 2, type: 'release', generation: 'g', addresses: [[podIp(BLOCK, 0)], many] }),
            );
          }
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(job!.port, podIp(BLOCK, 0), resolve));
    servers.push(server);
    // It fails on the release itself (a protocol error), not at its deadline (a timeout error).
    const error = await waitForPeers(job.options(1)).catch((e: unknown) => e as Error & { code: string });
    expect(error).toMatchObject({
      code: 'RDV_ERR_PROTOCOL',
      message: `rejected the release from ${podIp(BLOCK, 0)}: release lists 17 addresses for pod 1, at most 16 accepted`,
    });
    // Everything the member sent has arrived once its connection closed (bounded: it closes right after).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      memberClosed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the member never closed its connection')), 5000);
      }),
    ]).finally(() => clearTimeout(timer));
    expect(back.at(-1)).toMatchObject({
      type: 'reject',
      code: 'protocol',
      reason: 'release lists 17 addresses for pod 1, at most 16 accepted',
    });
    expect(back.some((f) => f.type === 'ack')).toBe(false);
  }, 20_000);

  it('a coordinator whose release a member rejects starts nobody: it fails with the member’s reason', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    job.publish(1);
    const coordinator = waitForPeers(job.options(0)).catch((e: unknown) => e as Error & { code: string });
    await new Promise((r) => setTimeout(r, 100));
    // A member of another release, stricter about releases: it joins, says ready, then rejects the release.
    const { connect } = await import('node:net');
    const socket = connect({ host: podIp(BLOCK, 0), port: job.port, localAddress: podIp(BLOCK, 1) });
    await new Promise((r) => socket.once('connect', r));
    const channel = new Channel(socket, 1 << 20);
    await initiate(
      channel,
      { job: 'default/example-job/2', index: 1, incarnation: 'strict', token: undefined },
      'join',
      0,
      Date.now() + 3000,
    );
    channel.onMessage((m) => {
      if (m.type === 'release')
        channel.send({
          v: PROTOCOL_VERSION,
          type: 'reject',
          code: 'protocol',
          reason: 'too many pods for me',
        });
    });
    channel.send({ v: PROTOCOL_VERSION, type: 'ready', epoch: 0 });
    expect(await coordinator).toMatchObject({
      code: 'RDV_ERR_PROTOCOL',
      message: 'member 1 rejected the release: too many pods for me',
    });
    channel.close();
  }, 20_000);
});
