import { afterEach, describe, expect, it } from 'vitest';
import { waitForPeers } from '../../src/rendezvous/wait.js';
import { type LoopbackJob, loopbackJob, podIp } from '../helpers/job.js';

const BLOCK = 31;
let job: LoopbackJob | undefined;
afterEach(async () => {
  await job?.close();
  job = undefined;
});

describe('waitForPeers in one process', () => {
  it('releases four agents started at once with the same roster', async () => {
    job = await loopbackJob(4, BLOCK);
    for (let i = 0; i < 4; i++) job.publish(i);
    const results = await Promise.all([0, 1, 2, 3].map((i) => waitForPeers(job!.options(i))));
    const generations = new Set(results.map((r) => r.generation));
    expect(generations.size).toBe(1);
    for (const r of results) {
      expect(r.peers.map((p) => p.fqdn)).toEqual(
        [0, 1, 2, 3].map((i) => `example-job-${i}.headless-svc.default.svc.cluster.local.`),
      );
      expect(r.peers.map((p) => p.addresses[0])).toEqual([0, 1, 2, 3].map((i) => podIp(BLOCK, i)));
    }
    expect(results[2]!.self.index).toBe(2);
  });
});
