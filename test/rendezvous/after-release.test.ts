// Exec mode after the release: a replacement pod (member or pod 0) gets a verdict (exit 75, RDV_ERR_RELEASED)
// instead of waiting for --timeout. Real CLI processes against Knot; the released pods exec `sleep`.

import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { discoverIdentity } from '../../src/identity/identity.js';
import { formatClock, ReleasedWithoutThisPodError } from '../../src/rendezvous/after-release.js';
import { Channel } from '../../src/rendezvous/channel.js';
import { initiate } from '../../src/rendezvous/handshake.js';
import { PROTOCOL_VERSION } from '../../src/rendezvous/messages.js';
import { waitForPeers } from '../../src/rendezvous/wait.js';
import { freePort } from '../helpers/job.js';
import { type KnotServer, startKnot } from '../helpers/knot.js';
import { PodSet } from '../helpers/lifecycle.js';

let knot: KnotServer;
let pods: PodSet;

beforeAll(async () => {
  knot = await startKnot({ zone: 'cluster.local', ttl: 1 });
  pods = new PodSet(knot, 61, 3);
});
afterAll(async () => {
  await knot?.stop();
});
afterEach(async () => {
  pods.killAll();
  await pods.clear();
});

/** Three pods released through `run -- sleep 60`: their agents exec'd, their ports are closed. */
async function releasedJob(port: number) {
  for (const i of [0, 1, 2]) await pods.publish(i);
  const first = [0, 1, 2].map((i) =>
    pods.start(i, 0, port, ['run', '--timeout', '20s', '--released-after', '2s'], ['--', 'sleep', '60']),
  );
  await Promise.all(first.map((p) => p.waitFor(/released after/)));
  return first;
}

describe('exec mode: a pod that comes after the release', () => {
  it('a replaced member exits 75 with the verdict and the fix, long before --timeout', async () => {
    const port = await freePort();
    const first = await releasedJob(port);
    first[2]!.child.kill('SIGKILL');
    await first[2]!.done;
    await pods.publish(2, 1);
    const started = Date.now();
    const late = pods.start(2, 1, port, ['wait', '--timeout', '60s', '--released-after', '2s']);
    const r = await late.done;
    const took = Date.now() - started;
    expect(r.code, r.stderr).toBe(75);
    expect(took).toBeLessThan(35_000);
    expect(r.stderr).toMatch(/the other pods were most likely released and run the workload/);
    expect(r.stderr).toMatch(/refused every connection since \d\d:\d\d:\d\d UTC \(\d+ s\)/);
    expect(r.stderr).toMatch(/this pod \(index 2\) is a replacement and cannot join a one-shot barrier/);
    expect(r.stderr).toMatch(/podFailurePolicy with action FailJob/);
    expect(r.stderr).toMatch(/\[RDV_ERR_RELEASED\]/);
    // The released pods still run their workload.
    expect(first[0]!.child.exitCode).toBeNull();
    expect(first[1]!.child.exitCode).toBeNull();
  }, 40_000);

  it('a replaced pod 0 finds every member agent refusing: the same verdict', async () => {
    const port = await freePort();
    const first = await releasedJob(port);
    first[0]!.child.kill('SIGKILL');
    await first[0]!.done;
    await pods.publish(0, 1);
    const started = Date.now();
    const late = pods.start(0, 1, port, ['wait', '--timeout', '60s', '--released-after', '2s']);
    const r = await late.done;
    expect(r.code, r.stderr).toBe(75);
    expect(Date.now() - started).toBeLessThan(35_000);
    expect(r.stderr).toMatch(/every member agent .* refused every connection since/);
    expect(r.stderr).toMatch(/this pod \(index 0\) is a replacement/);
  }, 40_000);

  it('a member whose coordinator is only slow to start is not given the verdict while another member waits', async () => {
    const port = await freePort();
    for (const i of [0, 1, 2]) await pods.publish(i);
    // Pod 0's name resolves, nothing listens there yet (an image pull); members 1 and 2 wait.
    const members = [1, 2].map((i) =>
      pods.start(i, 0, port, ['wait', '--timeout', '20s', '--released-after', '1s']),
    );
    await new Promise((r) => setTimeout(r, 3500));
    expect(members.map((m) => m.child.exitCode)).toEqual([null, null]);
    const coordinator = pods.start(0, 0, port, ['wait', '--timeout', '20s']);
    const results = await Promise.all([coordinator, ...members].map((p) => p.done));
    expect(
      results.map((x) => x.code),
      results.map((x) => x.stderr).join('\n'),
    ).toEqual([0, 0, 0]);
  }, 30_000);

  it('--released-after 0 turns the verdict off: the timeout as before', async () => {
    const port = await freePort();
    await pods.publish(0);
    await pods.publish(1);
    const late = pods.start(1, 0, port, ['wait', '--timeout', '2s', '--released-after', '0']);
    expect((await late.done).code).toBe(124);
  }, 15_000);
});

describe('the coordinator during its release grace window', () => {
  it('answers a late join with a `released` reject naming the generation and the release time', async () => {
    // In-process agents on real sockets: member 1 is a bare client that never acks, so the coordinator
    // stays in its grace window; member 2 is released; a second incarnation of member 2 then joins late.
    const port = await freePort();
    const peers = [0, 1, 2].map((i) => pods.ip(i, 5)).join(',');
    const base = { completions: 3, peers, port, timeoutMs: 15_000, releasedAfterMs: 0 };
    const listen = (i: number) => pods.ip(i, 5);
    const coordinator = waitForPeers({ ...base, index: 0, listen: listen(0), releaseGraceMs: 10_000 });
    const { jobKey } = discoverIdentity(
      { index: 1, completions: 3, peers },
      { env: {}, hostname: () => 'x' },
    );
    let channel: Channel | undefined;
    for (let attempt = 0; attempt < 50 && !channel; attempt++) {
      const socket = connect({ host: listen(0), port, localAddress: listen(1) });
      const ok = await new Promise<boolean>((r) => {
        socket.once('connect', () => r(true));
        socket.once('error', () => r(false));
      });
      if (ok) channel = new Channel(socket, 1 << 20);
      else await new Promise((r) => setTimeout(r, 50));
    }
    await initiate(
      channel!,
      { job: jobKey, index: 1, incarnation: 'aa', token: undefined },
      'join',
      0,
      Date.now() + 5000,
    );
    channel!.onMessage(() => {});
    channel!.send({ v: PROTOCOL_VERSION, type: 'ready', epoch: 0 });
    const before = Date.now();
    const member = await waitForPeers({ ...base, index: 2, listen: listen(2) });
    const late = await waitForPeers({ ...base, index: 2, listen: listen(2) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(late).toBeInstanceOf(ReleasedWithoutThisPodError);
    const err = late as ReleasedWithoutThisPodError;
    expect(err.code).toBe('RDV_ERR_RELEASED');
    expect(err.evidence).toBe('released-reject');
    expect(err.generation).toBe(member.generation);
    expect(err.releasedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(err.releasedAt).toBeLessThanOrEqual(Date.now());
    expect(err.message).toContain(`the other pods were released at ${formatClock(err.releasedAt!)}`);
    expect(err.message).toContain(`(generation ${member.generation})`);
    channel!.close();
    expect((await coordinator).generation).toBe(member.generation);
  });
});
