// The cluster DNS of a job in netns pods (runNetnsJob): Knot in the hub namespace, authoritative for the zone, and
// optionally unbound in front of it as the caching resolver a cluster has (CoreDNS' cache, NodeLocal DNSCache).
// Pod records go in (a pod's own name and the Service name, as the kubernetes plugin answers them); what the DNS
// answered and the CPU it spent come out, counted from a moment the caller picks.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type KnotServer, startKnot } from './knot.js';
import type { NetnsCluster, NetnsPod } from './netns.js';
import { processCpu } from './process-cpu.js';
import { startUnbound, type UnboundReply, type UnboundServer, type UnboundStats } from './unbound.js';

/** Knot's port when the cache takes port 53 of the DNS address. */
const AUTHORITATIVE_BEHIND_CACHE_PORT = 5300;

/** A cache between the pods and Knot: unbound capped at `seconds`; `ttl` (default `seconds`) is Knot's record
 *  TTL, SOA TTL and SOA MINIMUM. */
export interface JobDnsCache {
  readonly seconds: number;
  readonly ttl?: number;
  /** Log the cache's replies ({@link JobDnsCounters.replies}): which pod was told what. */
  readonly logReplies?: boolean;
}

/** What the DNS did between {@link JobDns.mark} and the call of the function it returned. */
export interface JobDnsCounters {
  /** Queries the authoritative server (Knot) answered. */
  readonly queries: number;
  /** With a cache: what it counted (queries the pods sent it, hits). */
  readonly cache: UnboundStats | undefined;
  /** With a cache that logs replies: the replies it gave, oldest first. */
  readonly replies: readonly UnboundReply[] | undefined;
  /** CPU seconds of the authoritative server since it started. */
  readonly cpuSeconds: number;
}

/** The job's DNS, listening on the cluster's DNS address, port 53. */
export interface JobDns {
  /** Add the records of these pods (their names and the Service name, A). */
  publish(pods: readonly NetnsPod[]): Promise<void>;
  /** Remove the records of a pod (a restarted pod's old address). */
  withdraw(pod: NetnsPod): Promise<void>;
  /** Start counting: the returned function tells what the DNS did since. */
  mark(): () => JobDnsCounters;
  /** Stop the cache and Knot. */
  stop(): Promise<void>;
}

/** Start Knot in the cluster's hub namespace, and unbound in front of it with `cache`. */
export async function startJobDns(
  cluster: NetnsCluster,
  zone: string,
  cache: JobDnsCache | undefined,
): Promise<JobDns> {
  const knotDir = join(cluster.dir, 'knot');
  mkdirSync(knotDir);
  const knot: KnotServer = await startKnot({
    dir: knotDir,
    address: cluster.dnsAddress,
    port: cache === undefined ? 53 : AUTHORITATIVE_BEHIND_CACHE_PORT,
    zone,
    ...(cache === undefined ? {} : { ttl: cache.ttl ?? cache.seconds }),
    placement: {
      spawn: (argv) => cluster.spawnInHub(argv, { stdio: ['ignore', 'ignore', 'pipe'] }),
      spawnShort: (argv) => cluster.spawnInHub(argv),
    },
  });
  let unbound: UnboundServer | undefined;
  if (cache !== undefined) {
    try {
      const cacheDir = join(cluster.dir, 'unbound');
      mkdirSync(cacheDir);
      unbound = await startUnbound({
        dir: cacheDir,
        address: cluster.dnsAddress,
        port: 53,
        upstream: { address: cluster.dnsAddress, port: AUTHORITATIVE_BEHIND_CACHE_PORT },
        zone,
        cacheSeconds: cache.seconds,
        logReplies: cache.logReplies === true,
        placement: { spawn: (argv) => cluster.spawnInHub(argv, { stdio: ['ignore', 'ignore', 'pipe'] }) },
      });
    } catch (error) {
      await knot.stop();
      throw error;
    }
  }
  const recordsOf = (pod: NetnsPod) => [
    { name: `${pod.fqdn}.`, type: 'A', value: pod.address },
    { name: `${pod.fqdn!.slice(pod.fqdn!.indexOf('.') + 1)}.`, type: 'A', value: pod.address },
  ];
  return {
    publish: (pods) => knot.update(pods.flatMap(recordsOf).map((r) => ({ op: 'add', ...r }))),
    withdraw: (pod) => knot.update(recordsOf(pod).map((r) => ({ op: 'delete', ...r }))),
    mark() {
      const queries = knot.queries();
      const cacheStats = unbound?.stats();
      const repliesBefore = unbound?.replies().length ?? 0;
      return () => {
        const cacheNow = unbound?.stats();
        return {
          replies: cache?.logReplies === true ? unbound?.replies().slice(repliesBefore) : undefined,
          queries: knot.queries() - queries,
          cache:
            cacheNow === undefined || cacheStats === undefined ? undefined : statsSince(cacheNow, cacheStats),
          cpuSeconds: (knot.process.pid === undefined ? undefined : processCpu(knot.process.pid)) ?? 0,
        };
      };
    },
    async stop() {
      await unbound?.stop();
      await knot.stop();
    },
  };
}

function statsSince(now: UnboundStats, before: UnboundStats): UnboundStats {
  const byRcode: Record<string, number> = {};
  for (const [rcode, n] of Object.entries(now.byRcode)) {
    const d = n - (before.byRcode[rcode] ?? 0);
    if (d > 0) byRcode[rcode] = d;
  }
  return {
    queries: now.queries - before.queries,
    cacheHits: now.cacheHits - before.cacheHits,
    cacheMisses: now.cacheMisses - before.cacheMisses,
    byRcode,
  };
}
