// What a finished rendezvous hands over: the roster every pod agrees on.

/** One pod in the released roster. */
export interface PeerInfo {
  readonly index: number;
  /** Absolute name with the trailing dot (or an IP literal with --peers). */
  readonly fqdn: string;
  /** Addresses the name resolved to / the agent connected from, best first. */
  readonly addresses: readonly string[];
}

/** The result of `waitForPeers()`: every pod of the job is ready, and this is the roster. */
export interface Mesh {
  readonly self: PeerInfo;
  /** All pods in index order (self included). */
  readonly peers: readonly PeerInfo[];
  /** `peers[0]`. */
  readonly coordinator: PeerInfo;
  /** Identifies this release; equal on every pod of one rendezvous. */
  readonly generation: string;
  /**
   * What the exports carry for each pod: `fqdn` (default) its name, `ip` its first address — the one the
   * barrier proved by handshake (`waitForPeers({ peerAddress })`).
   */
  readonly peerAddress?: 'fqdn' | 'ip';
  /** The agent's rendezvous port (exports may derive framework ports from configuration, not from this). */
  readonly port: number;
  /** Milliseconds since the agent started: when it began, when this pod was ready, when released. */
  readonly timings: { readonly startedAt: number; readonly readyMs: number; readonly releasedMs: number };
}
