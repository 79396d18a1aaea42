// What a pod can see of itself, read once: hostname (short, or the FQDN under setHostnameAsFQDN), the hosts
// file entry, resolv.conf, namespace, cluster domain, the downward-API labels/annotations; and the name
// completion the resolver's search list would do. Providers build peer lists from this.
import { ipFamily } from '../dns/ip-bytes.js';
import { clusterDomainFromSearch, parseResolvConf, type ResolvConf } from '../dns/resolv-conf.js';
import { ConfigError, quote } from '../errors.js';
import { findPodFqdn, parseHostsFile } from './hosts-file.js';
import { parseDownwardApiMap } from './podinfo.js';
import type { IdentitySources } from './sources.js';
import { assertLabel, assertName } from './validate.js';

/** A discovered value and the place it came from (shown by `explain`). */
export interface Sourced<T> {
  readonly value: T;
  readonly source: string;
}

/** The pod as the kubelet and the controller made it. */
export interface PodView {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly sources: IdentitySources;
  /** The short hostname (first label). */
  readonly hostname: Sourced<string>;
  /** The whole hostname when it is an FQDN (`setHostnameAsFQDN: true`). */
  readonly hostnameFqdn: string | undefined;
  readonly hostsText: string | undefined;
  readonly hostsEntry: { readonly fqdn: string; readonly address: string } | undefined;
  readonly fqdnParts: { hostname: string; subdomain: string; namespace: string; domain: string } | undefined;
  /** Where fqdnParts came from. */
  readonly fqdnSource: string;
  readonly resolvConf: ResolvConf | undefined;
  readonly searchDomain: string | undefined;
  readonly clusterDomain: Sourced<string>;
  readonly namespace: Sourced<string> | undefined;
  readonly subdomain: Sourced<string> | undefined;
  /** Downward-API files, when mounted. */
  readonly labels: Map<string, string> | undefined;
  readonly annotations: Map<string, string> | undefined;
  readonly labelsPath: string;
  readonly annotationsPath: string;
}

/** Options a pod view reads (the identity flags that are not provider-specific). */
export interface PodViewOptions {
  hostname?: string | undefined;
  clusterDomain?: string | undefined;
  namespace?: string | undefined;
  subdomain?: string | undefined;
}

/** Read the pod's view of itself. `origin` names where an option came from. */
export function readPodView(
  options: PodViewOptions,
  src: IdentitySources,
  origin: (name: 'hostname' | 'clusterDomain' | 'namespace' | 'subdomain') => string,
): PodView {
  const rawHost =
    options.hostname !== undefined
      ? { value: trimDot(options.hostname.toLowerCase()), source: origin('hostname') }
      : { value: trimDot(src.hostname().toLowerCase()), source: 'hostname(2)' };
  // setHostnameAsFQDN: true makes the kernel hostname the FQDN; the pod's hostname is its first label.
  const dotted = rawHost.value.includes('.') && ipFamily(rawHost.value) === 0;
  const hostname: Sourced<string> = dotted
    ? {
        value: rawHost.value.split('.')[0]!,
        source: `${rawHost.source} first label (setHostnameAsFQDN: ${quote(rawHost.value)})`,
      }
    : rawHost;
  const hostnameFqdn = dotted ? rawHost.value : undefined;

  const hostsText = src.readFile(src.paths.hosts);
  const hostsEntry =
    hostsText === undefined ? undefined : findPodFqdn(parseHostsFile(hostsText), hostname.value);
  let fqdnParts = hostsEntry === undefined ? undefined : splitPodFqdn(hostsEntry.fqdn);
  let fqdnSource = `${src.paths.hosts} FQDN`;
  if (fqdnParts === undefined && hostnameFqdn !== undefined) {
    fqdnParts = splitPodFqdn(hostnameFqdn);
    fqdnSource = `${rawHost.source} FQDN (setHostnameAsFQDN)`;
  }

  const resolvText = src.readFile(src.paths.resolvConf);
  const resolvConf = resolvText === undefined ? undefined : parseResolvConf(resolvText);
  const searchDomain = resolvConf === undefined ? undefined : clusterDomainFromSearch(resolvConf.search);

  let clusterDomain: Sourced<string>;
  if (options.clusterDomain !== undefined && options.clusterDomain !== '') {
    clusterDomain = { value: options.clusterDomain, source: origin('clusterDomain') };
  } else if (searchDomain !== undefined) {
    clusterDomain = { value: searchDomain, source: `${src.paths.resolvConf} search svc.${searchDomain}` };
  } else if (fqdnParts?.domain !== undefined) {
    clusterDomain = { value: fqdnParts.domain, source: fqdnSource };
  } else {
    clusterDomain = { value: 'cluster.local', source: 'default' };
  }
  clusterDomain = { ...clusterDomain, value: trimDot(clusterDomain.value.toLowerCase()) };
  assertName('cluster domain', clusterDomain.value, clusterDomain.source);

  let namespace: Sourced<string> | undefined;
  if (options.namespace !== undefined && options.namespace !== '') {
    namespace = { value: options.namespace, source: origin('namespace') };
  } else if (fqdnParts !== undefined) {
    namespace = { value: fqdnParts.namespace, source: fqdnSource };
  } else {
    const nsText = src.readFile(src.paths.namespace)?.trim();
    if (nsText) namespace = { value: nsText, source: src.paths.namespace };
  }
  let subdomain: Sourced<string> | undefined;
  if (options.subdomain !== undefined && options.subdomain !== '') {
    subdomain = { value: options.subdomain, source: origin('subdomain') };
  } else if (fqdnParts !== undefined) {
    subdomain = { value: fqdnParts.subdomain, source: fqdnSource };
  }
  if (namespace !== undefined) assertLabel('namespace', namespace.value, namespace.source);
  if (subdomain !== undefined) assertLabel('subdomain', subdomain.value, subdomain.source);

  const labelsPath = `${src.paths.podinfo}/labels`;
  const annotationsPath = `${src.paths.podinfo}/annotations`;
  const labelsText = src.readFile(labelsPath);
  const annotationsText = src.readFile(annotationsPath);
  return {
    env: src.env,
    sources: src,
    hostname,
    hostnameFqdn,
    hostsText,
    hostsEntry,
    fqdnParts,
    fqdnSource,
    resolvConf,
    searchDomain,
    clusterDomain,
    namespace,
    subdomain,
    labels: labelsText === undefined ? undefined : parseDownwardApiMap(labelsText, labelsPath),
    annotations:
      annotationsText === undefined ? undefined : parseDownwardApiMap(annotationsText, annotationsPath),
    labelsPath,
    annotationsPath,
  };
}

/** A label or annotation of the pod, with the file it came from. */
export function podMeta(view: PodView, key: string): Sourced<string> | undefined {
  const a = view.annotations?.get(key);
  if (a !== undefined) return { value: a, source: `${view.annotationsPath} ${key}` };
  const l = view.labels?.get(key);
  if (l !== undefined) return { value: l, source: `${view.labelsPath} ${key}` };
  return undefined;
}

/** An env var as a sourced value (undefined when unset or empty). */
export function envOf(view: PodView, name: string): Sourced<string> | undefined {
  const v = view.env[name];
  return v === undefined || v === '' ? undefined : { value: v, source: `env ${name}` };
}

/** Split the kubelet-written FQDN `<hostname>.<subdomain>.<ns>.svc.<zone>`. */
export function splitPodFqdn(
  fqdn: string,
): { hostname: string; subdomain: string; namespace: string; domain: string } | undefined {
  const labels = trimDot(fqdn).toLowerCase().split('.');
  if (labels.length < 5 || labels[3] !== 'svc') return undefined;
  return {
    hostname: labels[0]!,
    subdomain: labels[1]!,
    namespace: labels[2]!,
    domain: labels.slice(4).join('.'),
  };
}

/** A peer name made absolute, and how. */
export interface CompletedName {
  readonly name: string;
  /** How a relative name was completed; undefined when kept as given. */
  readonly completion: string | undefined;
}

/**
 * Make a name absolute the way a ClusterFirst pod's search list (`<ns>.svc.<zone> svc.<zone> <zone>`) would
 * find a cluster name: `host` and `host.svc` get `.<ns>.svc.<zone>`, `host.svc.ns` gets `.svc.<zone>`,
 * `….svc` gets `.<zone>`. Names with a trailing dot, IP literals and longer names are kept as given.
 */
export function completeName(
  given: string,
  view: Pick<PodView, 'namespace' | 'clusterDomain'>,
  source: string,
): CompletedName {
  if (ipFamily(given) !== 0) return { name: given, completion: undefined };
  const lower = given.toLowerCase();
  if (lower.endsWith('.')) return { name: lower, completion: undefined };
  const labels = lower.split('.');
  const zone = view.clusterDomain.value;
  if (lower === zone || lower.endsWith(`.${zone}`)) return { name: `${lower}.`, completion: undefined };
  let suffix: string | undefined;
  if (labels.at(-1) === 'svc') suffix = zone;
  else if (labels.length === 3) suffix = `svc.${zone}`;
  else if (labels.length <= 2) {
    if (view.namespace === undefined) {
      throw new ConfigError(
        `peer name ${quote(given)} from ${source} is relative and no namespace is known to complete it: pass --namespace, or write the name absolute with a trailing dot`,
        { value: given, source },
      );
    }
    suffix = `${view.namespace.value}.svc.${zone}`;
  }
  if (suffix === undefined) return { name: `${lower}.`, completion: undefined };
  return { name: `${lower}.${suffix}.`, completion: `search ${suffix}` };
}

export function trimDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}
