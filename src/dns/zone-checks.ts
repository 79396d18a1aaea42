// Validation of what callers hand the zone: DNS-1123 labels, Service ports, linger times.
import { quote, UsageError } from '../errors.js';
import { labelProblem } from '../names.js';
import type { ServicePortState } from './zone-state.js';
import type { LingerTimes, ServicePortSpec } from './zone-types.js';

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
export function checkPort(p: ServicePortSpec, index: number, service: string): ServicePortState {
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
