// A released mesh as waitForPeers() would hand it over, for tests of the exec layer.
import type { Mesh, PeerInfo } from '../../src/rendezvous/types.js';

/** A mesh of `count` pods named `train-<i>.workers.default.svc.cluster.local.`, seen from pod `index`. */
export function fakeMesh(index: number, count = 3, names?: readonly string[]): Mesh {
  const peers: PeerInfo[] = Array.from({ length: count }, (_, i) => ({
    index: i,
    fqdn: names?.[i] ?? `train-${i}.workers.default.svc.cluster.local.`,
    addresses: [`10.244.0.${10 + i}`],
  }));
  return {
    self: peers[index]!,
    peers,
    coordinator: peers[0]!,
    generation: 'g-5f3a',
    port: 7077,
    timings: { startedAt: 0, readyMs: 10, releasedMs: 12 },
  };
}
