// The network-namespace placement of `simulate --netns`: pods in namespaces on a bridge (own hostname,
// kubelet-style /etc/hosts and resolv.conf), the project's DNS server on port 53 in the hub namespace.
// The agents discover everything from their pod's files, as in a cluster. With `cacheSeconds`, unbound (a real
// caching resolver, src/simulate/unbound.ts) takes port 53 and the project's server answers it on port 5300.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SelfCommand } from '../self-command.js';
import { connectDnsChild } from './dns-child.js';
import { createNetnsCluster, type NetnsPod } from './netns.js';
import { disposeOnProcessExit } from './netns-teardown.js';
import type { DnsControl, Placement, PodSlot } from './placement.js';
import { startUnbound, type UnboundServer } from './unbound.js';

/** The project's server's port in the hub when the cache takes port 53. */
const BEHIND_CACHE_PORT = 5300;

/** Options of {@link createNetnsPlacement}. */
export interface NetnsPlacementOptions {
  readonly zone: string;
  /** How to start this CLI again (the DNS server runs as `simulate --serve-dns` in the hub). */
  readonly self: SelfCommand;
  readonly signal?: AbortSignal;
  /** unbound in front of the DNS, capped at this many seconds (zone TTL the same). Default: no cache. */
  readonly cacheSeconds?: number | undefined;
}

/** Make the hub namespace, start the DNS in it, and return the placement. Root only. */
export async function createNetnsPlacement(options: NetnsPlacementOptions): Promise<Placement> {
  const cluster = await createNetnsCluster();
  const offExit = disposeOnProcessExit(() => cluster.dispose());
  const pods = new Map<PodSlot, NetnsPod>();
  const cacheSeconds = options.cacheSeconds;
  let cache: UnboundServer | undefined;
  let authoritative: DnsControl | undefined;
  try {
    const port = cacheSeconds === undefined ? 53 : BEHIND_CACHE_PORT;
    const child = cluster.spawnInHub(
      [
        options.self.file,
        ...options.self.args,
        'simulate',
        '--serve-dns',
        `${cluster.dnsAddress}:${port}`,
        '--cluster-domain',
        options.zone,
        ...(cacheSeconds === undefined ? [] : ['--dns-cache', `${cacheSeconds}s`]),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    authoritative = await connectDnsChild(child);
    let dns: DnsControl = authoritative;
    if (cacheSeconds !== undefined) {
      const dir = join(cluster.dir, 'unbound');
      mkdirSync(dir);
      const started = await startUnbound({
        dir,
        address: cluster.dnsAddress,
        port: 53,
        upstream: { address: cluster.dnsAddress, port },
        zone: options.zone,
        cacheSeconds,
        placement: { spawn: (argv) => cluster.spawnInHub(argv, { stdio: ['ignore', 'ignore', 'pipe'] }) },
      });
      cache = started;
      const upstream = authoritative;
      dns = {
        ...upstream,
        // What the pods sent: the cache's count (the project's server sees only the misses).
        queries: async () => started.stats().queries,
        cacheHits: async () => started.stats().cacheHits,
        close: async () => {
          await started.stop();
          await upstream.close();
        },
      };
    }
    const control = dns;
    let closed = false;
    return {
      kind: `network namespaces ${cluster.id}-*`,
      dns: control,
      dnsLabel:
        cacheSeconds === undefined
          ? `${cluster.dnsAddress}:53 (hub namespace ${cluster.hub})`
          : `${cluster.dnsAddress}:53 (unbound caching ${cacheSeconds} s in hub namespace ${cluster.hub}, in front of the project's server on port ${port})`,
      agentPort: undefined,
      async allocate(index, hostname, fqdn, search) {
        const [pod] = await cluster.addPods([{ hostname, fqdn, search }]);
        const slot: PodSlot = { index, hostname, address: pod!.address, agentFlags: [] };
        pods.set(slot, pod!);
        return slot;
      },
      spawn(slot, argv, env) {
        const pod = pods.get(slot);
        if (pod === undefined) throw new Error(`no namespace for ${slot.hostname}`);
        return cluster.spawnInPod(pod, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      },
      retire(slot) {
        const pod = pods.get(slot);
        if (pod !== undefined) cluster.removePod(pod);
        pods.delete(slot);
      },
      async close() {
        if (closed) return;
        closed = true;
        await control.close().catch(() => {});
        cluster.dispose();
        offExit();
      },
    };
  } catch (error) {
    await cache?.stop();
    await authoritative?.close().catch(() => {});
    cluster.dispose();
    offExit();
    throw error;
  }
}
