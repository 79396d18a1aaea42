// Pod identity discovery: who am I in this workload, who are my peers, and where each value came from.
// The provider is chosen here; the lists come from providers/<name>.ts, checked by options.ts.
import { ipFamily } from '../dns/ip-bytes.js';
import type { ResolvConf } from '../dns/resolv-conf.js';
import { ConfigError, quote } from '../errors.js';
import { type Built, fromProvider } from './options.js';
import { envOf, type PodView, readPodView, type Sourced } from './pod-view.js';
import { jobIdentity } from './providers/job.js';
import { peersIdentity } from './providers/peers.js';
import {
  type Detail,
  detectProviders,
  PROVIDER_CHOICES,
  type ProviderName,
  type ProviderOptions,
  runProvider,
} from './providers.js';
import { DEFAULT_PATHS, defaultSources, type SourceOverrides } from './sources.js';

export type { Sourced } from './pod-view.js';

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

  let built: Built;
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

/** The provider asked for, or in auto mode the one whose marks the pod carries (two are an error). */
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
