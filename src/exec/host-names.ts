// How peer names are written for frameworks: no trailing dot, IPv6 literals bracketed next to a port.
import { ipFamily } from '../dns/ip-bytes.js';

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
