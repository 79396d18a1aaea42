// How peer names are written for frameworks: no trailing dot, IPv6 literals bracketed next to a port.

import { ipFamily } from '../dns/ip-bytes.js';
import type { Mesh, PeerInfo } from '../rendezvous/types.js';

/**
 * The name a framework, ssh or MPI should use for a peer: the absolute name without its trailing dot
 * (`job-0.svc.ns.svc.cluster.local.` → `job-0.svc.ns.svc.cluster.local`); IP literals unchanged.
 */
export function hostOf(fqdn: string): string {
  return fqdn.endsWith('.') ? fqdn.slice(0, -1) : fqdn;
}

/** `host:port`, with an IPv6 literal in brackets (`[fd00::1]:29400`). */
export function hostPort(host: string, port: number): string {
  return ipFamily(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * How a pod is named in the exports: its name without the trailing dot, or with `peerAddress: 'ip'` the first
 * of its addresses (the one the barrier proved; the name when the mesh has none for it).
 */
export function exportedHost(mesh: Mesh, peer: PeerInfo): string {
  if (mesh.peerAddress === 'ip' && peer.addresses.length > 0) return peer.addresses[0]!;
  return hostOf(peer.fqdn);
}
