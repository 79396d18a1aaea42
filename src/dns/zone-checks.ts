// Validation of what callers hand the zone: its options, DNS-1123 labels, Service ports, pod addresses, linger times.
import { quote, UsageError } from '../errors.js';
import { labelProblem, nameProblem } from '../names.js';
import { canonicalIp } from './ip-bytes.js';
import type { ServicePortState } from './zone-state.js';
import type { ClusterZoneOptions, LingerTimes, ServicePortSpec } from './zone-types.js';

const MAX_TTL = 3600;

/** The zone (lower case, no trailing dot), TTL and nameserver address of ClusterZone options, checked. */
export function checkZoneOptions(options: ClusterZoneOptions): {
  zone: string;
  ttl: number;
  nameserver: string | undefined;
} {
  const zone = (options.zone ?? 'cluster.local').toLowerCase().replace(/\.$/, '');
  const zoneProblem = nameProblem(zone);
  if (zoneProblem !== undefined) throw new UsageError(`DNS zone ${quote(options.zone)} ${zoneProblem}`);
  const ttl = options.ttl ?? 5;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) {
    throw new UsageError(
      `DNS ttl ${quote(ttl)} is invalid: expected an integer number of seconds 0–${MAX_TTL}`,
    );
  }
  let nameserver: string | undefined;
  if (options.nameserverAddress !== undefined) {
    nameserver = canonicalIp(options.nameserverAddress);
    if (nameserver === undefined) {
      throw new UsageError(`nameserverAddress ${quote(options.nameserverAddress)} is not an IP address`);
    }
  }
  return { zone, ttl, nameserver };
}

/** The value when it is a DNS-1123 label, else a UsageError naming `what`. */
export function checkLabel(what: string, value: unknown): string {
  const problem = typeof value === 'string' ? labelProblem(value) : 'must be a string';
  if (problem !== undefined)
    throw new UsageError(`${what} ${quote(value)} is not a valid DNS-1123 label: ${problem}`);
  return value as string;
}

/** IANA_SVC_NAME as Kubernetes validates port names: ≤ 15 of [a-z0-9-], a letter, no '--', no '-' at the ends. */
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A Service port checked and with its protocol defaulted, or a UsageError naming the port. */
function checkPort(p: ServicePortSpec, index: number, service: string): ServicePortState {
  const where = `Service ${quote(service)} port ${index}`;
  if (
    typeof p?.name !== 'string' ||
    p.name.length > 15 ||
    !PORT_NAME.test(p.name) ||
    p.name.includes('--') ||
    !/[a-z]/.test(p.name)
  ) {
    throw new UsageError(
      `${where} name ${quote(p?.name)} is invalid: expected an IANA service name (1–15 of a-z, 0-9, '-', with a letter)`,
    );
  }
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65_535) {
    throw new UsageError(
      `${where} (${p.name}) number ${quote(p.port)} is invalid: expected an integer 1–65535`,
    );
  }
  const protocol = p.protocol ?? 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp') {
    throw new UsageError(
      `${where} (${p.name}) protocol ${quote(protocol)} is invalid: expected 'tcp' or 'udp'`,
    );
  }
  return { name: p.name, port: p.port, protocol };
}

/** A Service's ports checked, protocols defaulted; a name twice for one protocol is a UsageError. */
export function checkPorts(ports: readonly ServicePortSpec[], service: string): ServicePortState[] {
  const checked = ports.map((p, i) => checkPort(p, i, service));
  const seen = new Set<string>();
  for (const p of checked) {
    const key = `${p.name}/${p.protocol}`;
    if (seen.has(key)) throw new UsageError(`Service ${quote(service)} has port name ${quote(p.name)} twice`);
    seen.add(key);
  }
  return checked;
}

/** A pod's readiness and addresses as given (canonical IPs, duplicates dropped), or a UsageError naming the pod. */
export function checkPodState(
  hostname: string,
  ready: unknown,
  addresses: unknown,
): { ready: boolean; addresses: string[] } {
  if (typeof ready !== 'boolean') {
    throw new UsageError(`pod ${quote(hostname)} ready ${quote(ready)} is invalid: expected true or false`);
  }
  if (!Array.isArray(addresses)) {
    throw new UsageError(`pod ${quote(hostname)} addresses must be an array of IP addresses`);
  }
  const out: string[] = [];
  for (const raw of addresses) {
    const ip = typeof raw === 'string' && !raw.includes('%') ? canonicalIp(raw) : undefined;
    if (ip === undefined) {
      throw new UsageError(`pod ${quote(hostname)} address ${quote(raw)} is not an IPv4 or IPv6 address`);
    }
    if (!out.includes(ip)) out.push(ip);
  }
  return { ready, addresses: out };
}

/** `base` with the known linger times of `partial` applied; unknown keys and bad values are UsageErrors. */
export function normalizeLinger(partial: Partial<LingerTimes>, base: LingerTimes): LingerTimes {
  const out = { ...base };
  for (const key of Object.keys(partial) as (keyof LingerTimes)[]) {
    if (key !== 'staleForMs' && key !== 'restartOverlapMs') {
      throw new UsageError(`unknown linger option ${quote(key)}: expected staleForMs or restartOverlapMs`);
    }
    const value = partial[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new UsageError(`${key} ${quote(value)} is invalid: expected a number of milliseconds ≥ 0`);
    }
    out[key] = value;
  }
  return out;
}
