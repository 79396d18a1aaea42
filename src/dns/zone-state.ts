// The zone's internal state: Services, pods and the addresses they still serve after being withdrawn (the
// linger fault model), plus the name index entries that point at them.
import type { LingerTimes } from './zone-types.js';

export interface ServicePortState {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

export interface ServiceState {
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  readonly fqdn: string;
  readonly publishNotReadyAddresses: boolean;
  readonly ports: readonly ServicePortState[];
}

export interface Lingering {
  readonly address: string;
  until: number;
}

export interface PodState {
  /** `<hostname>.<subdomain>.<ns>.svc.<zone>`. */
  readonly fqdn: string;
  /** `<subdomain>.<ns>`: the Service that would select it. */
  readonly serviceKey: string;
  /** False once removed: the entry stays only while addresses linger. */
  present: boolean;
  addresses: readonly string[];
  ready: boolean;
  lingering: Lingering[];
}

export type NameEntry =
  | { readonly kind: 'service'; readonly service: ServiceState }
  | { readonly kind: 'srv'; readonly service: ServiceState; readonly port: ServicePortState }
  | { readonly kind: 'pod'; readonly pod: PodState };

export interface Published {
  readonly v4: string[];
  readonly v6: string[];
  validUntil: number;
}

/** A frozen empty address list (a pod that publishes nothing). */
export const EMPTY_STRINGS: readonly string[] = Object.freeze([]);

/** Add an address to the v4 or v6 list of `out` unless it is there. */
export function pushAddress(out: Published, address: string): void {
  const list = address.includes(':') ? out.v6 : out.v4;
  if (!list.includes(address)) list.push(address);
}

/** `_<port>._<proto>.<service fqdn>`: the SRV owner name of a named port. */
export function srvName(port: ServicePortState, serviceFqdn: string): string {
  return `_${port.name}._${port.protocol}.${serviceFqdn}`;
}

/** After a mutation: keep the pod's unexpired lingering addresses and let the ones it stopped publishing linger. */
export function lingerWithdrawn(
  pod: PodState,
  before: readonly string[],
  after: readonly string[],
  now: number,
  linger: LingerTimes,
): void {
  const ms = after.length > 0 ? linger.restartOverlapMs : linger.staleForMs;
  pod.lingering = pod.lingering.filter((l) => l.until > now && !after.includes(l.address));
  for (const address of before) {
    if (after.includes(address) || ms <= 0) continue;
    const existing = pod.lingering.find((l) => l.address === address);
    if (existing !== undefined) existing.until = Math.max(existing.until, now + ms);
    else pod.lingering.push({ address, until: now + ms });
  }
}

/** Add a pod's unexpired lingering addresses, then its current ones, to `out`. */
export function collectAddresses(
  pod: PodState,
  current: readonly string[],
  now: number,
  out: Published,
): void {
  for (const l of pod.lingering) {
    if (l.until <= now) continue;
    out.validUntil = Math.min(out.validUntil, l.until);
    pushAddress(out, l.address);
  }
  for (const address of current) pushAddress(out, address);
}
