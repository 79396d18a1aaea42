// Pod identity discovery: who am I in this workload, who are my peers, and where each value came from.
import { createHash } from 'node:crypto';
import { ipFamily } from '../dns/ip-bytes.js';
import type { ResolvConf } from '../dns/resolv-conf.js';
import { ConfigError, quote } from '../errors.js';
import {
  completeName,
  envOf,
  type PodView,
  podMeta,
  readPodView,
  type Sourced,
  trimDot,
} from './pod-view.js';
import {
  type Detail,
  detectProviders,
  PROVIDER_CHOICES,
  type ProviderName,
  type ProviderOptions,
  type ProviderResult,
  runProvider,
} from './providers.js';
import { DEFAULT_PATHS, defaultSources, type SourceOverrides } from './sources.js';
import {
  assertLabel,
  assertName,
  MAX_LABEL_LENGTH,
  MAX_NAME_LENGTH,
  parseCompletions,
  parseIndex,
} from './validate.js';

export type { Sourced } from './pod-view.js';
export { splitPodFqdn } from './pod-view.js';

/** What the caller knows about the pod; everything else is discovered. */
export interface IdentityOptions extends ProviderOptions {
  /** `auto` (default) or one provider: job, jobset, lws, statefulset, trainer, volcano, mpi-operator, peers. */
  provider?: string | undefined;
  /** Index (default: the provider's, e.g. `$JOB_COMPLETION_INDEX`; with `peers`, the position in the list). */
  index?: number | string | undefined;
  /** World size. Kubernetes does not inject it for an Indexed Job: pass it, or give `peers`. */
  completions?: number | string | undefined;
  jobName?: string | undefined;
  subdomain?: string | undefined;
  namespace?: string | undefined;
  clusterDomain?: string | undefined;
  /** Explicit peer list (anything), in index order; relative names are completed like the search list. */
  peers?: readonly string[] | string | undefined;
  /** Overrides the kernel hostname. */
  hostname?: string | undefined;
  /** Where each of the options above came from, for messages (default `option <name>`). */
  origins?: Partial<Record<IdentityOptionName, string>> | undefined;
}

export type IdentityOptionName =
  | 'provider'
  | 'index'
  | 'completions'
  | 'jobName'
  | 'subdomain'
  | 'namespace'
  | 'clusterDomain'
  | 'peers'
  | 'hostname'
  | 'jobsetTopology'
  | 'replicas'
  | 'ordinalsStart'
  | 'volcanoTasks';

/** Who this pod is and who its peers are. */
export interface Identity {
  /** `job`: names built from the Indexed Job scheme; `peers`: a list (explicit or from a provider). */
  readonly mode: 'job' | 'peers';
  /** Which provider built the list, and why it was chosen. */
  readonly provider: Sourced<ProviderName>;
  readonly index: Sourced<number>;
  readonly completions: Sourced<number>;
  readonly jobName: Sourced<string> | undefined;
  readonly subdomain: Sourced<string> | undefined;
  readonly namespace: Sourced<string> | undefined;
  readonly clusterDomain: Sourced<string>;
  readonly hostname: Sourced<string>;
  /** Provider-specific values with their sources (replicated job, task, ordinal, …). */
  readonly details: readonly Detail[];
  /** The pod's own address and FQDN from the hosts file, when the kubelet wrote one. */
  readonly hostsEntry: { readonly fqdn: string; readonly address: string } | undefined;
  /** Absolute peer names (trailing dot; IP literals as they are), in index order. */
  readonly peers: readonly string[];
  /** `peers[index]`. */
  readonly self: string;
  /** `peers[0]`: index 0 coordinates the barrier. */
  readonly coordinator: string;
  /** A string every pod of the same job computes alike; agents refuse peers with another one. */
  readonly jobKey: string;
  /** The resolv.conf that was read, if any. */
  readonly resolvConf: ResolvConf | undefined;
  /** Things a user should know; none of them stops the agent. */
  readonly warnings: readonly string[];
}

const JOB_HOSTNAME = /^(.+)-(0|[1-9][0-9]*)$/;

/** Work out the pod's identity and its peers' absolute names from options, env and the pod's files. */
export function discoverIdentity(options: IdentityOptions = {}, sources: SourceOverrides = {}): Identity {
  const src = defaultSources(sources);
  const origin = (name: IdentityOptionName): string => options.origins?.[name] ?? `option ${name}`;
  const view = readPodView(options, src, origin);
  // The MPI hostfile: a path given to us, else where Open MPI is told to look, else mpi-operator's mount.
  const mpiHostfile: Sourced<string> =
    src.paths.mpiHostfile !== DEFAULT_PATHS.mpiHostfile
      ? { value: src.paths.mpiHostfile, source: src.paths.mpiHostfile }
      : (envOf(view, 'OMPI_MCA_orte_default_hostfile') ?? {
          value: DEFAULT_PATHS.mpiHostfile,
          source: DEFAULT_PATHS.mpiHostfile,
        });
  const provider = chooseProvider(options, view, origin, mpiHostfile.value);

  let built: Omit<
    Identity,
    'provider' | 'self' | 'coordinator' | 'hostname' | 'hostsEntry' | 'resolvConf' | 'clusterDomain'
  >;
  if (provider.value === 'job') built = jobIdentity(options, view, origin);
  else if (provider.value === 'peers') built = peersIdentity(options, view, origin);
  else {
    const r = runProvider(provider.value, view, options, origin, mpiHostfile);
    built = fromProvider(r, options, view, origin);
  }
  // With IP literals only no name is resolved: resolv.conf does not matter.
  const usesDns = built.peers.some((p) => ipFamily(p) === 0);
  const warnings = [...(usesDns ? dnsWarnings(view) : []), ...built.warnings];
  return {
    ...built,
    provider,
    clusterDomain: view.clusterDomain,
    hostname: view.hostname,
    hostsEntry: view.hostsEntry,
    resolvConf: view.resolvConf,
    self: built.peers[built.index.value]!,
    coordinator: built.peers[0]!,
    warnings,
  };
}

function chooseProvider(
  options: IdentityOptions,
  view: PodView,
  origin: (name: IdentityOptionName) => string,
  mpiHostfile: string,
): Sourced<ProviderName> {
  const asked = options.provider === undefined || options.provider === '' ? 'auto' : options.provider;
  if (!(PROVIDER_CHOICES as readonly string[]).includes(asked)) {
    throw new ConfigError(
      `provider ${quote(asked)} from ${origin('provider')} is not valid: expected one of ${PROVIDER_CHOICES.join(', ')}`,
      { value: asked, source: origin('provider') },
    );
  }
  if (asked !== 'auto') return { value: asked as ProviderName, source: origin('provider') };
  if (options.peers !== undefined && String(options.peers) !== '')
    return { value: 'peers', source: `auto: ${origin('peers')} given` };
  const found = detectProviders(view, options, mpiHostfile);
  if (found.length > 1) {
    throw new ConfigError(
      `the pod matches ${found.length} providers: ${found.map((d) => `${d.provider} (${d.reason})`).join('; ')}: pass --provider to choose one`,
      { value: found.map((d) => d.provider).join(','), source: 'provider auto' },
    );
  }
  if (found.length === 1) return { value: found[0]!.provider, source: `auto: ${found[0]!.reason}` };
  // Nothing matched: the Indexed Job path gives the messages a new user needs (JOB_COMPLETION_INDEX, …).
  return { value: 'job', source: 'auto: no controller marks found, Indexed Job naming' };
}

type Built = Omit<
  Identity,
  'provider' | 'self' | 'coordinator' | 'hostname' | 'hostsEntry' | 'resolvConf' | 'clusterDomain'
>;

function checkRange(index: Sourced<number>, completions: Sourced<number>): void {
  if (index.value >= completions.value) {
    throw new ConfigError(
      `completion index ${index.value} from ${index.source} is not valid: expected 0 ≤ index < completions (${completions.value} from ${completions.source})`,
      { value: String(index.value), source: index.source },
    );
  }
}

function completionsOption(
  options: IdentityOptions,
  origin: (name: IdentityOptionName) => string,
): Sourced<number> | undefined {
  if (options.completions === undefined || String(options.completions) === '') return undefined;
  return {
    value: parseCompletions(String(options.completions), origin('completions')),
    source: origin('completions'),
  };
}

function indexOption(
  options: IdentityOptions,
  origin: (name: IdentityOptionName) => string,
): Sourced<number> | undefined {
  if (options.index === undefined || String(options.index) === '') return undefined;
  return { value: parseIndex(String(options.index), origin('index')), source: origin('index') };
}

/** A provider's list, with --index/--completions allowed to say the same (a conflict is an error). */
function fromProvider(
  r: ProviderResult,
  options: IdentityOptions,
  view: PodView,
  origin: (name: IdentityOptionName) => string,
): Built {
  const completions = completionsOption(options, origin);
  if (
    completions !== undefined &&
    completions.value !== r.completions.value &&
    r.completions.source !== completions.source
  ) {
    throw new ConfigError(
      `completions ${completions.value} from ${completions.source} conflicts with ${r.completions.value} from ${r.completions.source}`,
      { value: String(completions.value), source: completions.source },
    );
  }
  const index = indexOption(options, origin) ?? r.index;
  if (index !== r.index && index.value !== r.index.value) {
    throw new ConfigError(
      `index ${index.value} from ${index.source} conflicts with index ${r.index.value} from ${r.index.source}`,
      { value: String(index.value), source: index.source },
    );
  }
  checkRange(r.index, r.completions);
  for (const p of r.peers) if (ipFamily(p) === 0) assertName('peer name', trimDot(p), r.completions.source);
  return {
    mode: 'peers',
    index: r.index,
    completions: r.completions,
    jobName: r.jobName,
    subdomain: r.subdomain,
    namespace: view.namespace,
    details: r.details,
    peers: r.peers,
    jobKey: r.jobKey,
    warnings: r.warnings,
  };
}

/** `--peers`: position in the list is the index unless --index says otherwise. */
function peersIdentity(
  options: IdentityOptions,
  view: PodView,
  origin: (name: IdentityOptionName) => string,
): Built {
  const warnings: string[] = [];
  const given = splitPeerItems(options.peers ?? '', origin('peers'));
  const completed = given.map((item) => ({ item, ...completeName(item, view, origin('peers')) }));
  const seen = new Map<string, string>();
  for (const c of completed) {
    const before = seen.get(c.name);
    if (before !== undefined)
      throw new ConfigError(
        `peer ${quote(c.item)} appears twice in ${origin('peers')}${before === c.item ? '' : ` (as ${quote(before)}; both are ${quote(c.name)})`}`,
        { value: c.item, source: origin('peers') },
      );
    seen.set(c.name, c.item);
    if (ipFamily(c.name) === 0) assertName('peer name', c.name, origin('peers'));
  }
  const peers = completed.map((c) => c.name);
  const completionsOpt = completionsOption(options, origin);
  if (completionsOpt !== undefined && completionsOpt.value !== peers.length) {
    throw new ConfigError(
      `completions ${completionsOpt.value} from ${completionsOpt.source} does not match the ${peers.length} names of ${origin('peers')}`,
      { value: String(completionsOpt.value), source: completionsOpt.source },
    );
  }
  const completions = completionsOpt ?? { value: peers.length, source: `${origin('peers')} (count)` };

  // Where this pod is in the list: its FQDN (hosts file or setHostnameAsFQDN), else its first label, else its IP.
  const own = [view.hostsEntry?.fqdn, view.hostnameFqdn]
    .filter((x): x is string => x !== undefined)
    .map((f) => `${trimDot(f)}.`);
  let at = peers.findIndex((p) => own.includes(p));
  let how = view.hostsEntry ? `${view.sources.paths.hosts} FQDN` : `${view.hostname.source}`;
  if (at < 0) {
    const byLabel = peers.flatMap((p, i) =>
      ipFamily(p) === 0 && p.split('.')[0] === view.hostname.value ? [i] : [],
    );
    if (byLabel.length > 1)
      throw new ConfigError(
        `hostname ${quote(view.hostname.value)} matches ${byLabel.length} names of ${origin('peers')} (${byLabel.map((i) => quote(peers[i])).join(', ')}): pass --index`,
        { value: view.hostname.value, source: origin('peers') },
      );
    at = byLabel[0] ?? -1;
    how = view.hostname.source;
  }
  if (at < 0 && view.hostsEntry !== undefined) {
    at = peers.indexOf(view.hostsEntry.address);
    how = `${view.sources.paths.hosts} address`;
  }
  const position: Sourced<number> | undefined =
    at >= 0
      ? { value: at, source: `position of ${how} ${quote(trimDot(peers[at]!))} in ${origin('peers')}` }
      : undefined;
  const jciS = envOf(view, 'JOB_COMPLETION_INDEX');
  const jci =
    jciS === undefined ? undefined : { value: parseIndex(jciS.value, jciS.source), source: jciS.source };
  const explicit = indexOption(options, origin);
  let index: Sourced<number>;
  if (explicit !== undefined) {
    index = explicit;
    if (position !== undefined && position.value !== explicit.value)
      warnings.push(
        `index ${explicit.value} from ${explicit.source} overrides the ${position.source} (${position.value})`,
      );
  } else if (position !== undefined) {
    index = position;
    // In a JobSet pod JOB_COMPLETION_INDEX counts within one child Job: it must not silently win.
    if (jci !== undefined && jci.value !== position.value) {
      throw new ConfigError(
        `index ${position.value} from the ${position.source} conflicts with ${jci.source}=${jci.value} (in a JobSet that index counts within one child Job): pass --index to say which one is right`,
        { value: String(jci.value), source: jci.source },
      );
    }
  } else if (jci !== undefined) {
    index = jci;
    warnings.push(
      `this pod (${quote(view.hostname.value)}) is not in ${origin('peers')}: the index comes from ${jci.source}`,
    );
  } else {
    throw new ConfigError(
      `no index: hostname ${quote(view.hostname.value)} is not in ${origin('peers')} and JOB_COMPLETION_INDEX is not set; pass --index`,
      { value: view.hostname.value, source: origin('peers') },
    );
  }
  checkRange(index, completions);
  // One row per completion suffix: `web-0.nginx,web-1.nginx` → `2 names + default.svc.cluster.local`.
  const bySuffix = new Map<string, string[]>();
  for (const c of completed) {
    if (c.completion !== undefined)
      bySuffix.set(c.completion, [...(bySuffix.get(c.completion) ?? []), c.item]);
  }
  const details: Detail[] = [...bySuffix].map(([completion, items]) => ({
    label: 'completed',
    value: `${items.length === 1 ? items[0] : `${items.length} names`} + .${completion.replace(/^search /, '')}`,
    source: `like the resolv.conf ${completion} (namespace from ${view.namespace?.source ?? '-'})`,
  }));
  return {
    mode: 'peers',
    index,
    completions,
    jobName: undefined,
    subdomain: view.subdomain,
    namespace: view.namespace,
    details,
    peers,
    jobKey: `peers/${createHash('sha256').update(peers.join(',')).digest('hex').slice(0, 16)}`,
    warnings,
  };
}

/** The Indexed Job scheme: `<job>-<index>.<subdomain>.<ns>.svc.<zone>.` for every index. */
function jobIdentity(
  options: IdentityOptions,
  view: PodView,
  origin: (name: IdentityOptionName) => string,
): Built {
  const warnings: string[] = [];
  const completions = completionsOption(options, origin);
  let index = indexOption(options, origin);
  if (index === undefined) {
    const jci =
      envOf(view, 'JOB_COMPLETION_INDEX') ?? podMeta(view, 'batch.kubernetes.io/job-completion-index');
    if (jci !== undefined) index = { value: parseIndex(jci.value, jci.source), source: jci.source };
  }
  if (index === undefined) {
    throw new ConfigError(
      'no completion index: JOB_COMPLETION_INDEX is not set (is this an Indexed Job?); pass --index or set PEER_RENDEZVOUS_INDEX, or --provider for another controller',
      { source: 'env JOB_COMPLETION_INDEX' },
    );
  }
  if (completions === undefined) {
    throw new ConfigError(
      "no completions (world size): Kubernetes does not inject it; pass --completions or set PEER_RENDEZVOUS_COMPLETIONS to the Job's spec.completions",
      { source: 'option completions' },
    );
  }
  checkRange(index, completions);
  const hostname = view.hostname;
  let jobName: Sourced<string> | undefined;
  if (options.jobName !== undefined && options.jobName !== '') {
    jobName = { value: options.jobName, source: origin('jobName') };
  } else {
    const m = JOB_HOSTNAME.exec(hostname.value);
    if (m && Number(m[2]) === index.value)
      jobName = { value: m[1]!, source: `${hostname.source} minus -${index.value}` };
  }
  const { subdomain, namespace, clusterDomain } = view;
  if (jobName !== undefined) assertLabel('job name', jobName.value, jobName.source);
  const paths = view.sources.paths;
  if (jobName === undefined) {
    throw new ConfigError(
      `no job name: hostname ${quote(hostname.value)} is not <job>-${index.value}; pass --job-name or set PEER_RENDEZVOUS_JOB_NAME`,
      { value: hostname.value, source: hostname.source },
    );
  }
  if (subdomain === undefined) {
    throw new ConfigError(
      `no subdomain: ${paths.hosts} has no FQDN for ${quote(hostname.value)} (the pod template has no spec.subdomain?); pass --subdomain or set PEER_RENDEZVOUS_SUBDOMAIN`,
      { source: paths.hosts },
    );
  }
  if (namespace === undefined) {
    throw new ConfigError(
      `no namespace: neither ${paths.hosts} nor ${paths.namespace} gives one; pass --namespace or set PEER_RENDEZVOUS_NAMESPACE`,
      { source: paths.namespace },
    );
  }
  // Kubernetes rejects an Indexed Job whose longest hostname `<name>-<completions-1>` is not a label.
  const longest = `${jobName.value}-${completions.value - 1}`;
  if (longest.length > MAX_LABEL_LENGTH) {
    throw new ConfigError(
      `job name ${quote(jobName.value)} from ${jobName.source} makes hostname ${quote(longest)} ${longest.length} characters long: a pod hostname is a DNS-1123 label of at most ${MAX_LABEL_LENGTH}`,
      { value: jobName.value, source: jobName.source },
    );
  }
  const suffix = `.${subdomain.value}.${namespace.value}.svc.${clusterDomain.value}.`;
  const longestName = `${longest}${suffix}`;
  if (longestName.length - 1 > MAX_NAME_LENGTH) {
    throw new ConfigError(
      `peer name ${quote(longestName)} is ${longestName.length - 1} characters long: a DNS name is at most ${MAX_NAME_LENGTH}`,
      {
        value: longestName,
        source: `${jobName.source}, ${subdomain.source}, ${namespace.source}, ${clusterDomain.source}`,
      },
    );
  }
  const peers = Array.from({ length: completions.value }, (_, i) => `${jobName.value}-${i}${suffix}`);
  const self = peers[index.value]!;
  if (hostname.value !== `${jobName.value}-${index.value}`) {
    warnings.push(
      `hostname ${quote(hostname.value)} is not ${quote(`${jobName.value}-${index.value}`)}: is this pod part of Indexed Job ${quote(jobName.value)}?`,
    );
  }
  // A JobSet pod seen as a bare Job: JOB_COMPLETION_INDEX counts within one child Job only.
  const js = new RegExp(`^${subdomain.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-.+-(0|[1-9][0-9]*)$`);
  if (js.test(jobName.value) && !options.jobName) {
    warnings.push(
      `hostname ${quote(hostname.value)} looks like a JobSet pod (<jobset ${subdomain.value}>-<rjob>-<job>-<pod>): these peers are one child Job only; mount the pod's annotations at --podinfo-dir, or pass --provider jobset --jobset-topology <rjob>=<replicas>x<pods>,…`,
    );
  }
  if (view.hostsEntry === undefined && view.fqdnParts === undefined) {
    warnings.push(
      `${view.hostsText === undefined ? `${paths.hosts} could not be read` : `${paths.hosts} has no FQDN for ${quote(hostname.value)}`}: the pod has no subdomain, so peers cannot resolve its name (set spec.template.spec.subdomain to the headless Service's name)`,
    );
  } else if (view.hostsEntry !== undefined && trimDot(self) !== view.hostsEntry.fqdn) {
    warnings.push(
      `own peer name ${quote(self)} differs from the FQDN ${quote(view.hostsEntry.fqdn)} in ${paths.hosts}`,
    );
  }
  return {
    mode: 'job',
    index,
    completions,
    jobName,
    subdomain,
    namespace,
    details: [],
    peers,
    jobKey: `${namespace.value}/${jobName.value}/${completions.value}`,
    warnings,
  };
}

/** Warnings about the pod's DNS set-up a user needs before anything goes on the network. */
function dnsWarnings(view: PodView): string[] {
  const path = view.sources.paths.resolvConf;
  if (view.resolvConf === undefined)
    return [`${path} could not be read: pass --dns-server to name the cluster DNS`];
  if (view.searchDomain === undefined) {
    return [
      `${path} has no svc.<domain> search entry: the pod's dnsPolicy is not ClusterFirst, so short names like <host>.<subdomain> do not resolve (peer-rendezvous itself uses absolute names)`,
    ];
  }
  if (view.searchDomain !== view.clusterDomain.value) {
    return [
      `cluster domain ${quote(view.clusterDomain.value)} from ${view.clusterDomain.source} differs from ${quote(view.searchDomain)} in ${path}`,
    ];
  }
  return [];
}

/** Split `a,b,c` (or an array) into trimmed entries; empty lists and entries are errors. */
function splitPeerItems(input: readonly string[] | string, source: string): string[] {
  const items = (typeof input === 'string' ? input.split(',') : input.flatMap((s) => s.split(','))).map((s) =>
    s.trim(),
  );
  const value = typeof input === 'string' ? input : input.join(',');
  if (items.length === 0 || items.every((s) => s === '')) {
    throw new ConfigError(
      `peers ${quote(value)} from ${source} is empty: expected a comma-separated list of host names`,
      { value, source },
    );
  }
  if (items.includes('')) {
    throw new ConfigError(
      `peers from ${source} has an empty entry: expected host names separated by single commas`,
      {
        value,
        source,
      },
    );
  }
  return items;
}
