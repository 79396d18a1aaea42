// A late member behind a caching DNS whose Service-name denial was cached before any record existed: real
// `peer-rendezvous wait` processes against the project's server in cache mode (CoreDNS' `cache` in front of
// `kubernetes`: each answer counted down from when it was first given). The late member reads how old the
// cached denial is not what decides (ARCHITECTURE.md, "Never poison a name"): its existence probe finds the
// coordinator's record and it asks the coordinator's name without waiting out its own 2 s grace; no pod's name is
// ever denied, with the kubeadm cache and with NodeLocal's 5 s cap.
import { afterEach, describe, expect, it } from 'vitest';
import type { DnsQueryEvent } from '../../src/dns/server-options.js';
import { probeFoundText, RECORD_GRACE_MS } from '../../src/rendezvous/evidence.js';
import { startBin } from '../helpers/cli.js';
import { JOB, type LoopbackJob, loopbackJob, NS, podFlags, SVC } from '../helpers/job.js';

const BLOCK = 61;
const N = 3;
/** The late pod starts this long after the others: its Service-name denial is then ≥ 3 s old. */
const LATE_MS = 4_000;
/** Records come this long after their pod starts (a Service that publishes only Ready pods). */
const RECORD_MS = 1_000;

/** What the late member says when it asks the coordinator's name at once. */
const EVIDENCE = new RegExp(
  `${probeFoundText().replace(/[()]/g, '\\$&')}|the cache's denial of the Service's name is ≥ [1-9]\\d* s old, older than this pod`,
);

let job: LoopbackJob | undefined;
afterEach(async () => {
  await job?.close();
  job = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const podName = (i: number) => `${JOB}-${i}.${SVC}.${NS}.svc.cluster.local`;

/** `released after 123 ms` / `released after 2.10 s` from a pod's log, in ms. */
function releasedAfterMs(stderr: string): number | undefined {
  const m = /released after (\d+(?:\.\d+)?) (ms|s) /.exec(stderr);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

async function lateMember(cache: { cacheSeconds: number; negativeCacheSeconds?: number }) {
  const denied = new Map<string, number>();
  const onQuery = (e: DnsQueryEvent) => {
    // Address questions only: an existence probe's denial (a private-use type) is cached under its own type.
    if (e.rcode === 'NXDOMAIN' && (e.type === 'A' || e.type === 'AAAA'))
      denied.set(e.name, (denied.get(e.name) ?? 0) + 1);
  };
  // kubeadm's CoreDNS: record TTL, SOA TTL and SOA MINIMUM 30.
  job = await loopbackJob(N, BLOCK, {}, { ttl: 30, onQuery, ...cache });
  const j = job;
  const start = (i: number) => {
    const run = startBin(['wait', ...podFlags(j, i), '--peer-address', 'ip', '--verbose']);
    setTimeout(() => j.publish(i), RECORD_MS).unref();
    return run;
  };
  // The first question for the Service's name comes before any record exists, as a pod's first question does
  // when the pods start together (asked here, so that a slow start-up on a loaded machine cannot put it after
  // the records): its denial is cached from now on.
  const client = j.client();
  try {
    expect((await client.query(`${SVC}.${NS}.svc.cluster.local.`, 'A')).kind).toBe('nxdomain');
  } finally {
    await client.close();
  }
  const early = [0, 1].map(start);
  await sleep(LATE_MS);
  const late = start(2);
  const ended = await Promise.all([...early, late].map((r) => r.done));
  for (const e of ended) expect(e.code, e.stderr).toBe(0);
  const lateEnded = ended[2]!;
  return { denied, lateStderr: lateEnded.stderr, lateReleasedMs: releasedAfterMs(lateEnded.stderr) };
}

describe('a late member behind a cache that denied the Service name before any record existed', () => {
  it('kubeadm cache (30 s): asks the coordinator’s name at once, no pod’s name denied', async () => {
    const r = await lateMember({ cacheSeconds: 30 });
    // Waiting out its own grace would release it ≥ RECORD_GRACE_MS after it started.
    expect(r.lateReleasedMs, r.lateStderr).toBeLessThan(RECORD_GRACE_MS - 500);
    // Either evidence comes first: the existence probe (a private-use type, whose denial the cache keeps under
    // that type only) finding the coordinator's record, or the Service's cached denial dated older than the pod.
    expect(r.lateStderr).toMatch(EVIDENCE);
    for (let i = 0; i < N; i++) expect(r.denied.get(podName(i)) ?? 0, podName(i)).toBe(0);
    // The Service's name was denied (the case this is about).
    expect(r.denied.get(`${SVC}.${NS}.svc.cluster.local`) ?? 0).toBeGreaterThan(0);
  }, 30_000);

  it('a denial cap under the MINIMUM (NodeLocal DNSCache’s `denial … 5`): the cap, not the MINIMUM, dates it', async () => {
    // Denials kept 8 s (long enough that the late pod still meets the first one) under a MINIMUM of 30: the pods
    // starting together must not ask the coordinator's name before its record exists (a denied name), the late
    // one must not wait out its grace.
    const r = await lateMember({ cacheSeconds: 30, negativeCacheSeconds: 8 });
    for (let i = 0; i < N; i++) expect(r.denied.get(podName(i)) ?? 0, podName(i)).toBe(0);
    expect(r.lateReleasedMs, r.lateStderr).toBeLessThan(RECORD_GRACE_MS - 500);
    expect(r.lateStderr).toMatch(EVIDENCE);
  }, 30_000);
});
