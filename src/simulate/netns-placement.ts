// The network-namespace placement of `simulate --netns`: pods in namespaces on a bridge (own hostname,
// kubelet-style /etc/hosts and resolv.conf), the project's DNS server on port 53 in the hub namespace.
// The agents discover everything from their pod's files, as in a cluster.
import type { SelfCommand } from '../self-command.js';
import { connectDnsChild } from './dns-child.js';
import { createNetnsCluster, disposeOnProcessExit, type NetnsPod } from './netns.js';
import type { Placement, PodSlot } from './placement.js';

/** Options of {@link createNetnsPlacement}. */
export interface NetnsPlacementOptions {
  readonly zone: string;
  /** How to start this CLI again (the DNS server runs as `simulate --serve-dns` in the hub). */
  readonly self: SelfCommand;
  readonly signal?: AbortSignal;
}

/** Make the hub namespace, start the DNS in it, and return the placement. Root only. */
export async function createNetnsPlacement(options: NetnsPlacementOptions): Promise<Placement> {
  const cluster = await createNetnsCluster();
  const offExit = disposeOnProcessExit(() => cluster.dispose());
  const pods = new Map<PodSlot, NetnsPod>();
  try {
    const child = cluster.spawnInHub(
      [
        options.self.file,
        ...options.self.args,
        'simulate',
        '--serve-dns',
        `${cluster.dnsAddress}:53`,
        '--cluster-domain',
        options.zone,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const dns = await connectDnsChild(child);
    let closed = false;
    return {
      kind: `network namespaces ${cluster.id}-*`,
      dns,
      dnsLabel: `${cluster.dnsAddress}:53 (hub namespace ${cluster.hub})`,
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
        await dns.close().catch(() => {});
        cluster.dispose();
        offExit();
      },
    };
  } catch (error) {
    cluster.dispose();
    offExit();
    throw error;
  }
}
