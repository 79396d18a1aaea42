// The seed's own bash+ping loop in 3 network-namespace pods, Knot as the cluster DNS: the baseline the
// benchmark compares against, and proof that the pods look like Kubernetes pods to ping and glibc.
import { describe, expect, it } from 'vitest';
import { runNetnsJob } from '../../src/simulate/netns-job.js';
import { listNetns } from '../../src/simulate/netns-teardown.js';
import { seedScript } from '../../src/simulate/seed-script.js';
import { requireNetns } from './root.js';

describe('the seed loop in network-namespace pods', () => {
  it('completes in every pod once every record is published, and leaves no namespace behind', async () => {
    requireNetns();
    const n = 3;
    const result = await runNetnsJob({
      n,
      command: () => ['bash', '-c', `hostname; ${seedScript(n)}`],
      released: (line) => line === `Successfully pinged pod: example-job-${n - 1}.headless-svc`,
      // 2.5 s late: the early pods reach pod 2 in their loop before its record even on a loaded machine.
      startDelays: new Map([[n - 1, 2_500]]),
      capMs: 20_000,
      prefix: 'prdvseed',
    });
    expect(result.capped).toBe(false);
    for (const pod of result.pods) {
      expect(pod.exitCode, pod.output.join('\n')).toBe(0);
      expect(pod.output[0]).toBe(`example-job-${pod.index}`);
      for (let i = 0; i < n; i++) {
        expect(pod.output).toContain(`Successfully pinged pod: example-job-${i}.headless-svc`);
      }
      expect(pod.releasedAtMs).toBeGreaterThanOrEqual(result.lastPublishAtMs);
    }
    // The early pods retried while the late pod had no record: the seed's loop polls.
    const early = result.pods.filter((p) => p.index < n - 1);
    expect(
      early.some((p) => p.output.some((l) => l.startsWith(`Failed to ping pod example-job-${n - 1}`))),
    ).toBe(true);
    expect(result.queries).toBeGreaterThan(0);
    expect(listNetns().filter((name) => name.startsWith('prdvseed-'))).toEqual([]);
  });
});
