// Where simulated pods live: their addresses, files and processes, and the cluster DNS they all ask.
// Two placements: loopback (any Linux user, 127/8 addresses) and network namespaces (root).
import type { ChildProcess } from 'node:child_process';
import type { DnsFaults, DnsServerStats, PodRef, PodSpec, ServiceSpec } from '../dns/server.js';

/** The cluster DNS as the simulation drives it (the project's ClusterDnsServer, here or in another process). */
export interface DnsControl {
  addService(spec: ServiceSpec): Promise<void>;
  setPod(spec: PodSpec): Promise<void>;
  removePod(ref: PodRef): Promise<void>;
  setFaults(faults: Partial<DnsFaults>): Promise<void>;
  /** Total queries the pods sent (to the cache, when there is one) so far. */
  queries(): Promise<number>;
  /** With a cache: how many of those it answered from its cache. */
  cacheHits?(): Promise<number>;
  close(): Promise<void>;
}

/** One incarnation of a pod: its address and how to run processes as that pod. */
export interface PodSlot {
  readonly index: number;
  readonly hostname: string;
  readonly address: string;
  /** Flags that point the agent at this pod's files, address and DNS server. */
  readonly agentFlags: readonly string[];
}

/** What a placement must provide. */
export interface Placement {
  /** `loopback` or `netns`, for messages. */
  readonly kind: string;
  readonly dns: DnsControl;
  /** Where the DNS listens, as shown to the user. */
  readonly dnsLabel: string;
  /** The agents' port when the placement needs one chosen (loopback: a free port); else the agent default. */
  readonly agentPort: number | undefined;
  /** A new incarnation of pod `index` on a fresh address (kubelet-style hosts and resolv.conf written). */
  allocate(index: number, hostname: string, fqdn: string, search: readonly string[]): Promise<PodSlot>;
  /** Spawn a process of the pod in its own process group, stdout and stderr piped. */
  spawn(slot: PodSlot, argv: readonly string[], env: NodeJS.ProcessEnv): ChildProcess;
  /** The incarnation is gone (killed): its address disappears where the placement can make it disappear. */
  retire(slot: PodSlot): void;
  /** Close the DNS, kill what is left, remove files and namespaces. Idempotent. */
  close(): Promise<void>;
}

export type { DnsServerStats };
