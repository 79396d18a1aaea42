// One rendezvous agent: its configuration, and the role it plays — coordinator (index 0, coordinator.ts),
// member (member.ts, with mesh-probe.ts for `--verify mesh`) or one-sided (one-sided.ts). The state they share
// is AgentCore (agent-core.ts); the barrier's decisions are barrier.ts (ARCHITECTURE.md).

import type { Resolver } from '../dns/types.js';
import { AgentCore } from './agent-core.js';
import type { Clock } from './clock.js';
import { runCoordinator } from './coordinator.js';
import { asAbort } from './failure.js';
import { runMember } from './member.js';
import { runOneSided } from './one-sided.js';
import type { PeerReport } from './peer-state.js';
import type { Mesh } from './types.js';
import type { VerifyMode } from './verify.js';

/** Everything one agent needs; built by waitForPeers from options and injected dependencies. */
export interface AgentConfig {
  readonly index: number;
  readonly completions: number;
  /** Absolute peer names (or IP literals) in index order. */
  readonly peers: readonly string[];
  readonly jobKey: string;
  readonly jobName: string | undefined;
  /** The headless Service's absolute name, for discovery by the coordinator (job mode only). */
  readonly serviceName: string | undefined;
  readonly port: number;
  /** Address to listen on; undefined = every address. A specific address is also the source of our connections. */
  readonly listen: string | undefined;
  readonly verify: VerifyMode;
  readonly token: string | undefined;
  /** Epoch ms after which the agent gives up with RDV_ERR_TIMEOUT. */
  readonly deadline: number;
  readonly resolver: Resolver;
  readonly signal: AbortSignal;
  readonly onProgress: ((event: ProgressEvent) => void) | undefined;
  readonly handshakeTimeoutMs: number;
  readonly releaseGraceMs: number;
  /**
   * `fqdn` (default): exports carry names, so the barrier checks every name resolves to the address it proved.
   * `ip`: exports carry the proven addresses; names are only a way to find the coordinator.
   */
  readonly peerAddress?: PeerAddressMode | undefined;
  /** This pod's own address when known before any connection (the hosts file's line, or --listen). */
  readonly selfAddress?: string | undefined;
  /** Refused connections from live names this long mean "released without this pod" (0: never). */
  readonly releasedAfterMs: number;
  /** Time and timers (tests inject a manual clock). */
  readonly clock: Clock;
  readonly random: () => number;
}

/** What `onProgress` receives. */
export type ProgressEvent =
  | { readonly type: 'peer'; readonly peer: PeerReport }
  | { readonly type: 'listening'; readonly address: string; readonly port: number }
  | { readonly type: 'joined'; readonly coordinator: string }
  | { readonly type: 'status'; readonly ready: number; readonly total: number }
  | { readonly type: 'released'; readonly generation: string }
  /** Something this agent cannot tie to a peer, e.g. an agent of another release dialled in. */
  | { readonly type: 'warning'; readonly message: string }
  /** Something worth saying at the default level that is no fault, e.g. a denial the cluster DNS caches. */
  | { readonly type: 'notice'; readonly message: string };

/** What the exports carry for each pod: its name or the address the barrier proved. */
export type PeerAddressMode = 'fqdn' | 'ip';

/** Counters for benchmarks and the final timing line. */
export interface AgentStats {
  dnsQueries: number;
  connections: number;
  /** Mesh probe datagrams sent (mesh-udp.ts). */
  datagrams: number;
}

/** Run one agent to release (or timeout/abort), always cleaning up. */
export async function runAgent(cfg: AgentConfig): Promise<{ mesh: Mesh; stats: AgentStats }> {
  const core = new AgentCore(cfg);
  try {
    if (cfg.signal.aborted) throw asAbort(cfg.signal.reason);
    let mesh: Mesh;
    if (cfg.verify.kind === 'dns' || cfg.verify.kind === 'tcp')
      mesh = await runOneSided(core, cfg.verify.kind === 'tcp' ? cfg.verify.port : undefined);
    else if (cfg.index === 0) mesh = await runCoordinator(core);
    else mesh = await runMember(core);
    cfg.onProgress?.({ type: 'released', generation: mesh.generation });
    return { mesh, stats: core.stats };
  } finally {
    await core.shutdown();
  }
}
