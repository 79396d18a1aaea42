// The JSON roster file (PEER_ROSTER_FILE): who is in the released mesh, for programs that want all of it.
import type { Mesh } from '../rendezvous/types.js';
import { exportedHost } from './host-names.js';

/** One entry of the roster file. */
export interface RosterPeer {
  readonly index: number;
  /** Absolute name with its trailing dot, as queried (IP literals as given). */
  readonly fqdn: string;
  /** What PEER_HOSTS and the hostfiles have: the name without the trailing dot, or the address (peerAddress ip). */
  readonly host: string;
  readonly addresses: readonly string[];
}

/** The roster file's document. */
export interface Roster {
  readonly generation: string;
  /** This pod's index. */
  readonly index: number;
  readonly count: number;
  /** `host` of peer 0. */
  /** How `host` is written: `fqdn` or `ip`. */
  readonly peerAddress: 'fqdn' | 'ip';
  readonly coordinator: string;
  readonly peers: readonly RosterPeer[];
}

/** The roster document for a mesh. */
export function rosterOf(mesh: Mesh): Roster {
  return {
    generation: mesh.generation,
    peerAddress: mesh.peerAddress ?? 'fqdn',
    index: mesh.self.index,
    count: mesh.peers.length,
    coordinator: exportedHost(mesh, mesh.coordinator),
    peers: mesh.peers.map((p) => ({
      index: p.index,
      fqdn: p.fqdn,
      host: exportedHost(mesh, p),
      addresses: [...p.addresses],
    })),
  };
}

/** The roster file's bytes: pretty JSON, two-space indent, trailing newline. */
export function rosterJson(mesh: Mesh): string {
  return `${JSON.stringify(rosterOf(mesh), null, 2)}\n`;
}
