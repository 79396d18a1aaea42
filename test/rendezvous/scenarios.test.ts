// Barrier scenarios with many agents in one process: real sockets on 127.32.x.y, the project's DNS server.

import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Channel, MAX_MEMBER_FRAME } from '../../src/rendezvous/channel.js';
import type { RendezvousTimeoutError } from '../../src/rendezvous/errors.js';
import { accept, initiate } from '../../src/rendezvous/handshake.js';
import { OPEN_SENDS_MS, UDP_NO_ANSWER_MS } from '../../src/rendezvous/mesh-udp.js';
import { PROTOCOL_VERSION } from '../../src/rendezvous/messages.js';
import { type WaitResult, waitForPeers } from '../../src/rendezvous/wait.js';
import { JOB, type LoopbackJob, loopbackJob, NS, podIp } from '../helpers/job.js';

const BLOCK = 32;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let job: LoopbackJob | undefined;
const servers: Server[] = [];
const openSockets = new Set<Socket>();
afterEach(async () => {
  await job?.close();
  job = undefined;
  for (const s of servers.splice(0)) {
    const closed = new Promise((r) => s.close(r));
    for (const socket of openSockets) socket.destroy();
    await closed;
  }
  openSockets.clear();
});

function expectSameRelease(results: WaitResult[], n: number): void {
  expect(results).toHaveLength(n);
  expect(new Set(results.map((r) => r.generation)).size).toBe(1);
  for (const r of results) expect(r.peers).toHaveLength(n);
}

/** A TCP server on addr:port that does `behaviour` to every connection. */
async function rogue(
  addr: string,
  port: number,
  behaviour: 'garbage' | 'oversized' | 'stall',
): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    openSockets.add(socket);
    if (behaviour === 'garbage')
      socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\nnot our protocol'));
    if (behaviour === 'oversized') socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7b]));
    // stall: accept and say nothing
  });
  await new Promise<void>((resolve) => server.listen(port, addr, resolve));
  servers.push(server);
  return server;
}

describe('barrier scenarios', () => {
  it('waits for a late member whose record appears after it starts', async () => {
    job = await loopbackJob(4, BLOCK);
    for (let i = 0; i < 3; i++) job.publish(i);
    const early = [0, 1, 2].map((i) => waitForPeers(job!.options(i)));
    let lateDone = false;
    const late = (async () => {
      await sleep(300);
      const p = waitForPeers(job!.options(3));
      await sleep(200);
      job!.publish(3);
      const r = await p;
      lateDone = true;
      return r;
    })();
    const firstEarly = await Promise.race([early[1]!.then(() => 'early'), sleep(250).then(() => 'pending')]);
    expect(firstEarly).toBe('pending'); // nobody proceeds before everybody is ready
    const results = await Promise.all([...early, late]);
    expect(lateDone).toBe(true);
    expectSameRelease(results, 4);
    expect(results[3]!.self.addresses[0]).toBe(podIp(BLOCK, 3));
  });

  it('a late coordinator announces itself to members already waiting', async () => {
    job = await loopbackJob(4, BLOCK);
    for (let i = 1; i < 4; i++) job.publish(i);
    const members = [1, 2, 3].map((i) => waitForPeers(job!.options(i)));
    await sleep(600);
    // Before the coordinator's record exists, members do not ask its name (the Service listing the other pods
    // says nothing of pod 0's record, and a denial now would be cached): they probe it with private-use types,
    // each member a few times a second (PROBE_POLL: 50 ms doubling to 400 ms), not a flood.
    const coordinatorName = 'example-job-0.headless-svc.default.svc.cluster.local';
    const blind = job.dns.stats().byName.get(coordinatorName);
    expect((blind?.A ?? 0) + (blind?.AAAA ?? 0)).toBe(0);
    expect(blind?.other).toBeGreaterThanOrEqual(3);
    expect(blind?.other).toBeLessThanOrEqual(3 * 8);
    const coordinator = waitForPeers(job.options(0));
    await sleep(200);
    job.publish(0);
    const results = await Promise.all([coordinator, ...members]);
    expectSameRelease(results, 4);
  });

  it('waits again for a member that leaves before release, and takes its new address', async () => {
    job = await loopbackJob(3, BLOCK);
    job.dns.setFaults({ restartOverlapMs: 5000 });
    job.publish(0);
    job.publish(1);
    const coordinator = waitForPeers(job.options(0));
    const first = new AbortController();
    const gone = waitForPeers(job.options(1, { signal: first.signal })).catch((e: unknown) => e);
    await sleep(300);
    first.abort();
    expect(await gone).toMatchObject({ code: 'RDV_ERR_ABORTED' });
    // The pod comes back on a new address; for a while its name answers both.
    job.publish(1, 1);
    const again = waitForPeers(job.options(1, {}, 1));
    job.publish(2);
    const results = await Promise.all([coordinator, again, waitForPeers(job.options(2))]);
    expectSameRelease(results, 3);
    expect(results[0]!.peers[1]!.addresses[0]).toBe(podIp(BLOCK, 1, 1));
  });

  it('members rejoin a restarted coordinator on its new address', async () => {
    job = await loopbackJob(3, BLOCK);
    job.dns.setFaults({ restartOverlapMs: 5000 });
    job.publish(0);
    job.publish(1);
    const old = new AbortController();
    const oldCoordinator = waitForPeers(job.options(0, { signal: old.signal })).catch((e: unknown) => e);
    const member1 = waitForPeers(job.options(1));
    await sleep(300);
    old.abort();
    await oldCoordinator;
    job.publish(0, 1); // new address; the old one is still served for a while
    const coordinator = waitForPeers(job.options(0, {}, 1));
    job.publish(2);
    const results = await Promise.all([coordinator, member1, waitForPeers(job.options(2))]);
    expectSameRelease(results, 3);
    expect(results[1]!.coordinator.addresses).toContain(podIp(BLOCK, 0, 1));
  });

  it('rejects an address that answers as another job and tries the next one', async () => {
    job = await loopbackJob(2, BLOCK);
    // The coordinator's name answers an address where an agent of another job listens, then the real one.
    const foreign = waitForPeers({
      ...job.options(0),
      jobName: 'other-job',
      listen: podIp(BLOCK, 0, 9),
      timeoutMs: 1500,
    }).catch((e: unknown) => e);
    job.dns.setPod({
      hostname: 'example-job-0',
      subdomain: 'headless-svc',
      namespace: 'default',
      addresses: [podIp(BLOCK, 0, 9), podIp(BLOCK, 0)],
      ready: true,
    });
    job.publish(1);
    const results = await Promise.all([waitForPeers(job.options(0)), waitForPeers(job.options(1))]);
    expectSameRelease(results, 2);
    expect(results[1]!.coordinator.addresses[0]).toBe(podIp(BLOCK, 0));
    await foreign;
  });

  it.each(['garbage', 'oversized', 'stall'] as const)(
    'cuts off a process that speaks %s and carries on',
    async (behaviour) => {
      job = await loopbackJob(2, BLOCK);
      await rogue(podIp(BLOCK, 0, 8), job.port, behaviour);
      job.dns.setPod({
        hostname: 'example-job-0',
        subdomain: 'headless-svc',
        namespace: 'default',
        addresses: [podIp(BLOCK, 0, 8), podIp(BLOCK, 0)],
        ready: true,
      });
      job.publish(1);
      const results = await Promise.all([
        waitForPeers(job.options(0)),
        waitForPeers(job.options(1, { handshakeTimeoutMs: 400 })),
      ]);
      expectSameRelease(results, 2);
    },
  );

  it('survives garbage, oversized frames and stalls sent to its own port', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    const coordinator = waitForPeers(job.options(0, { handshakeTimeoutMs: 400 }));
    await sleep(100);
    const { connect } = await import('node:net');
    const sockets = [
      Buffer.from('garbage garbage garbage'),
      Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x01]),
      Buffer.alloc(0),
    ].map((payload) => {
      const s = connect({ host: podIp(BLOCK, 0), port: job!.port });
      s.on('error', () => {});
      s.on('connect', () => s.write(payload));
      return s;
    });
    const closed = sockets.map((s) => new Promise((r) => s.on('close', r)));
    await Promise.all(closed); // every intruder was cut off (the stall after the handshake deadline)
    job.publish(1);
    const results = await Promise.all([coordinator, waitForPeers(job.options(1))]);
    expectSameRelease(results, 2);
  });

  it('times out on a token mismatch and says so', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    job.publish(1);
    const [c, m] = await Promise.allSettled([
      // The coordinator outlives the member, so the member's last try meets it (not a closed port).
      waitForPeers(job.options(0, { token: 'secret-a-0123456789abcdef', timeoutMs: 3000 })),
      waitForPeers(job.options(1, { token: 'secret-b-0123456789abcdef', timeoutMs: 1500 })),
    ]);
    expect(c.status).toBe('rejected');
    expect(m.status).toBe('rejected');
    const err = (m as PromiseRejectedResult).reason as RendezvousTimeoutError;
    expect(err.code).toBe('RDV_ERR_TIMEOUT');
    expect(err.peers[0]).toMatchObject({ index: 0, state: 'token-mismatch' });
    expect(err.hints.join('\n')).toMatch(/same token \(--token-file/);
  });

  it('releases with matching tokens', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    job.publish(1);
    const results = await Promise.all(
      [0, 1].map((i) => waitForPeers(job!.options(i, { token: 's3cret-0123456789abcdef' }))),
    );
    expectSameRelease(results, 2);
  });

  it('reports every unfinished peer and the Service hint when nothing is published', async () => {
    job = await loopbackJob(3, BLOCK);
    const settled = await Promise.allSettled(
      // Past RECORD_GRACE_MS (2 s): with nothing published, not even a member's own record, the probe's absent
      // of the coordinator's name cannot be confirmed, and it holds the name unasked (at most 10 s).
      [0, 1, 2].map((i) => waitForPeers(job!.options(i, { timeoutMs: 3000 }))),
    );
    const [c, m] = settled.map((s) => (s as PromiseRejectedResult).reason as RendezvousTimeoutError);
    expect(c!.code).toBe('RDV_ERR_TIMEOUT');
    expect(c!.peers.map((p) => p.index)).toEqual([1, 2]);
    expect(m!.peers[0]).toMatchObject({
      index: 0,
      state: 'unknown',
      fqdn: 'example-job-0.headless-svc.default.svc.cluster.local.',
    });
    expect(m!.report).toMatch(/not seen yet since \d+ s/);
    // Why it is not asked, and for how long at most; nothing was denied, so nothing is cached for it.
    expect(m!.peers[0]!.detail).toMatch(
      /^its record does not exist yet \(NXDOMAIN for example-job-0\.headless-svc\.default\.svc\.cluster\.local\. asked with a private-use type, .*\); not asked until .* at most 10 s after this pod started$/,
    );
    expect(m!.report).not.toMatch(/is cached until/);
    // No A question for the coordinator's name reached the server (the probes use other types).
    const asked = job.dns.stats().byName.get('example-job-0.headless-svc.default.svc.cluster.local');
    expect(asked?.other).toBeGreaterThan(0);
    expect(asked?.A).toBe(0);
    expect(m!.hints.join('\n')).toMatch(/headless Service "headless-svc.default.svc.cluster.local."/);
    expect(m!.hints.join('\n')).toMatch(/publishNotReadyAddresses: true/);
  });

  it('tells a member whose own record is missing (init container) to use publishNotReadyAddresses', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    const [, m] = await Promise.allSettled(
      [0, 1].map((i) => waitForPeers(job!.options(i, { timeoutMs: 1500 }))),
    );
    const err = (m as PromiseRejectedResult).reason as RendezvousTimeoutError;
    expect(err.hints.join('\n')).toMatch(/own record is not published.*publishNotReadyAddresses: true/);
    expect(err.hints.join('\n')).not.toMatch(/is there a headless Service/);
  });

  it('mesh: every member handshakes every other one', async () => {
    job = await loopbackJob(4, BLOCK);
    for (let i = 0; i < 4; i++) job.publish(i);
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) => waitForPeers(job!.options(i, { verify: 'mesh' }))),
    );
    expectSameRelease(results, 4);
    // Each member joined the coordinator (its one connection) and probed the member it dials over UDP (one
    // exchange per pair: 1-2 by 1, 2-3 by 2, 1-3 by 3): an open and an answer; the dialled end took the open
    // as its own check.
    expect(results.slice(1).map((r) => r.stats.connections)).toEqual([1, 1, 1]);
    for (const r of results.slice(1)) expect(r.stats.datagrams).toBeGreaterThanOrEqual(2);
  });

  it('mesh: a member whose dialler never probes it dials that member itself after a while', async () => {
    // Pair 1-2 is dialled by 1 (mesh-pairs.ts). Member 1 is driven by hand here: it joins, accepts probes over
    // TCP and reports ready, but never dials anyone and has no UDP socket (a NetworkPolicy that allows only
    // TCP looks the same). Member 2 then waits for 1's probe, gives up, probes 1 over UDP, gets no answer, says
    // so once, and probes it over TCP.
    const n = 3;
    job = await loopbackJob(n, BLOCK);
    for (let i = 0; i < n; i++) job.publish(i);
    const self = { job: `${NS}/${JOB}/${n}`, index: 1, incarnation: 'f00d'.repeat(4), token: undefined };
    const probedBy: number[] = [];
    const listener = createServer((socket) => {
      openSockets.add(socket);
      const ch = new Channel(socket, MAX_MEMBER_FRAME);
      const now = Date.now();
      accept(ch, self, () => undefined, { hello: now + 1000, end: now + 5000 }).then(
        (hello) => {
          // (The coordinator's announce, before this member joined, is a hello too.)
          if (hello.purpose === 'probe') probedBy.push(hello.index);
          ch.close({ kind: 'local', message: 'done' });
        },
        () => ch.close(),
      );
    });
    await new Promise<void>((resolve) => listener.listen(job!.port, podIp(BLOCK, 1), resolve));
    servers.push(listener);
    const warnings: string[] = [];
    const agents = [0, 2].map((i) =>
      waitForPeers(
        job!.options(i, {
          verify: 'mesh',
          onProgress: (e) => {
            if (e.type === 'warning') warnings.push(e.message);
          },
        }),
      ),
    );
    const socket = connect({ host: podIp(BLOCK, 0), port: job.port, localAddress: podIp(BLOCK, 1) });
    openSockets.add(socket);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const ch = new Channel(socket, 1024 * 1024);
    await initiate(ch, self, 'join', 0, Date.now() + 5000);
    let released = false;
    ch.onMessage((m) => {
      if (m.type === 'peer') ch.send({ v: PROTOCOL_VERSION, type: 'ready', epoch: m.epoch });
      if (m.type === 'release') {
        released = true;
        ch.send({ v: PROTOCOL_VERSION, type: 'ack', generation: m.generation });
      }
    });
    const started = Date.now();
    const [coordinator, member] = await Promise.all(agents);
    expect(released).toBe(true);
    expect(member!.generation).toBe(coordinator!.generation);
    expect(probedBy).toEqual([2]);
    // Member 2 waited for the probe first (5 s), tried UDP (3 s), then dialled: its join and this probe.
    expect(Date.now() - started).toBeGreaterThanOrEqual(4500 + UDP_NO_ANSWER_MS);
    expect(member!.stats.connections).toBe(2);
    expect(member!.stats.datagrams).toBe(OPEN_SENDS_MS.length);
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `index 1 at ${podIp(BLOCK, 1).replaceAll('.', '\\.')}:${job.port} does not answer mesh probes over UDP: probing over TCP.*said once`,
        ),
      ),
    ]);
  }, 30_000);

  it('mesh: a late member is checked by the others once it joins', async () => {
    job = await loopbackJob(3, BLOCK);
    job.publish(0);
    job.publish(1);
    const early = [0, 1].map((i) => waitForPeers(job!.options(i, { verify: 'mesh' })));
    await sleep(300);
    const late = waitForPeers(job.options(2, { verify: 'mesh' }));
    await sleep(150);
    job.publish(2);
    expectSameRelease(await Promise.all([...early, late]), 3);
  });

  it('mesh: a member joining after more than 64 others takes every peer message of the burst', async () => {
    const n = 70;
    job = await loopbackJob(n, 34);
    for (let i = 0; i < n; i++) job.publish(i);
    const early = Array.from({ length: n - 1 }, (_, i) =>
      waitForPeers(job!.options(i, { verify: 'mesh', timeoutMs: 60_000 })),
    );
    await sleep(300);
    const last = waitForPeers(job.options(n - 1, { verify: 'mesh', timeoutMs: 60_000 }));
    expectSameRelease(await Promise.all([...early, last]), n);
  }, 90_000);

  it('dns: waits until every name resolves, with no agent on the other side', async () => {
    job = await loopbackJob(3, BLOCK);
    job.publish(0);
    job.publish(2);
    const p = waitForPeers(job.options(1, { verify: 'dns' }));
    await sleep(200);
    job.publish(1);
    const r = await p;
    expect(r.peers.map((x) => x.addresses[0])).toEqual([0, 1, 2].map((i) => podIp(BLOCK, i)));
  });

  it('tcp:<port>: waits for plain TCP servers that do not run the agent', async () => {
    job = await loopbackJob(3, BLOCK);
    const sshPort = job.port;
    for (let i = 0; i < 3; i++) job.publish(i);
    const p = waitForPeers(job.options(0, { verify: `tcp:${sshPort}`, port: 1 }));
    await sleep(300);
    await rogue(podIp(BLOCK, 1), sshPort, 'garbage'); // like sshd: talks first, not our protocol
    await rogue(podIp(BLOCK, 2), sshPort, 'stall');
    const r = await p;
    expect(r.peers[2]!.addresses[0]).toBe(podIp(BLOCK, 2));
  });

  it('aborts with RDV_ERR_ABORTED and leaves the port free', async () => {
    job = await loopbackJob(2, BLOCK);
    const ac = new AbortController();
    const p = waitForPeers(job.options(0, { signal: ac.signal }));
    await sleep(100);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'RDV_ERR_ABORTED' });
    // The listener is closed: a new agent can bind the same address and port at once.
    job.publish(0);
    job.publish(1);
    expectSameRelease(await Promise.all([0, 1].map((i) => waitForPeers(job!.options(i)))), 2);
  });

  it('rejects unknown options with a hint and never touches the caller object', async () => {
    const options = Object.freeze({ completions: 2, index: 0, timeOut: 5 });
    await expect(waitForPeers(options as never)).rejects.toThrow(/Unknown option `timeOut`/);
    await expect(waitForPeers({ port: 70000, completions: 1, index: 0 })).rejects.toMatchObject({
      code: 'RDV_ERR_CONFIG',
    });
    await expect(waitForPeers({ verify: 'ring', completions: 1, index: 0 })).rejects.toThrow(
      /verify mode "ring"/,
    );
  });
});
