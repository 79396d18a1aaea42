// Helpers every controller provider uses: integers with their source, required values, names in the zone.
import { ConfigError, quote } from '../../errors.js';
import type { PodView, Sourced } from '../pod-view.js';
import type { Detail } from '../providers.js';
import { parseDecimal } from '../validate.js';

/** The JobSet label and annotation prefix. */
export const JS = 'jobset.sigs.k8s.io/';

/** Whether an option was given (not undefined, not empty). */
export function nonEmpty(v: unknown): boolean {
  return v !== undefined && String(v) !== '';
}

/** Read a sourced integer ≥ min, or throw a message naming it and where it came from. */
export function int(s: Sourced<string>, what: string, min: number): number {
  const n = parseDecimal(s.value.trim());
  if (n === undefined || n < min) {
    throw new ConfigError(
      `${what} ${quote(s.value)} from ${s.source} is not valid: expected an integer ≥ ${min}`,
      { value: s.value, source: s.source },
    );
  }
  return n;
}

/** An option's value with its source, or undefined when it was not given. */
export function optionValue(v: number | string | undefined, source: string): Sourced<string> | undefined {
  return v === undefined || String(v) === '' ? undefined : { value: String(v), source };
}

/** The value, or a ConfigError with the message when it is missing. */
export function need<T>(value: T | undefined, message: string, source: string): T {
  if (value === undefined) throw new ConfigError(message, { source });
  return value;
}

/** The pod's namespace, which every provider's peer names need. */
export function namespaceOf(view: PodView, provider: string): Sourced<string> {
  return need(
    view.namespace,
    `no namespace for the ${provider} peer names: neither ${view.sources.paths.hosts} nor ${view.sources.paths.namespace} gives one; pass --namespace or set PEER_RENDEZVOUS_NAMESPACE`,
    view.sources.paths.namespace,
  );
}

/** `<host>.<subdomain>.<ns>.svc.<zone>.` */
export function fqdn(view: PodView, ns: Sourced<string>, host: string, subdomain: string): string {
  return `${host}.${subdomain}.${ns.value}.svc.${view.clusterDomain.value}.`;
}

/** Warn when this pod's own name is not where the provider put it. */
export function selfCheck(view: PodView, peers: readonly string[], index: number, warnings: string[]): void {
  const own = peers[index]?.split('.')[0];
  if (own !== undefined && own !== view.hostname.value) {
    warnings.push(
      `hostname ${quote(view.hostname.value)} is not ${quote(own)}, the name at index ${index}: is the pod's identity from another workload?`,
    );
  }
}

/** An `explain` row from a sourced value. */
export function detail(label: string, s: Sourced<unknown>): Detail {
  return { label, value: String(s.value), source: s.source };
}

/** Escape a string for use inside a RegExp. */
export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
