// Pod identity discovery: who am I in this Job, who are my peers, and where each value came from.
import { createHash } from 'node:crypto';
import { ipFamily } from '../dns/ip-bytes.js';
import { clusterDomainFromSearch, parseResolvConf, type ResolvConf } from '../dns/resolv-conf.js';
import { ConfigError, quote } from '../errors.js';
import { findPodFqdn, parseHostsFile } from './hosts-file.js';
import { defaultSources, type IdentitySources } from './sources.js';
import {
  assertLabel,
  assertName,
  MAX_LABEL_LENGTH,
  MAX_NAME_LENGTH,
  parseCompletions,
  parseIndex,
} from './validate.js';

/** A discovered value and the place it came from (shown by `explain`). */
export interface Sourced<T> {
  readonly value: T;
  readonly source: string;
}

/** What the caller knows about the pod; everything else is discovered. */
export interface IdentityOptions {
  /** Completion index (default `$JOB_COMPLETION_INDEX`). */
  index?: number | string | undefined;
  /** World size. Kubernetes does not inject it: pass it, or give `peers`. */
  completions?: number | string | undefined;
  jobName?: string | undefined;
  subdomain?: string | undefined;
  namespace?: string | undefined;
  clusterDomain?: string | undefined;
  /** Explicit peer list (StatefulSet, JobSet, anything), in index order; replaces the Job naming scheme. */
  peers?: readonly string[] | string | undefined;
  /** Overrides the kernel hostname. */
  hostname?: string | undefined;
  /** Where each of the options above came from, for messages (default `option <name>`). */
  origins?: Partial<Record<IdentityOptionName, string>> | undefined;
}

export type IdentityOptionName =
  | 'index'
  | 'completions'
  | 'jobName'
  | 'subdomain'
  | 'namespace'
  | 'clusterDomain'
  | 'peers'
  | 'hostname';

/** Who this pod is and who its peers are. */
export interface Identity {
  /** `job`: names built from the Indexed Job scheme; `peers`: an explicit list. */
  readonly mode: 'job' | 'peers';
  readonly index: Sourced<number>;
  readonly completions: Sourced<number>;
  readonly jobName: Sourced<string> | undefined;
  readonly subdomain: Sourced<string> | undefined;
  readonly namespace: Sourced<string> | undefined;
  readonly clusterDomain: Sourced<string>;
  readonly hostname: Sourced<string>;
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
export function discoverIdentity(
  options: IdentityOptions = {},
  sources: Partial<IdentitySources> = {},
): Identity {
  const src = defaultSources(sources);
  const origin = (name: IdentityOptionName): string => options.origins?.[name] ?? `option ${name}`;
  const warnings: string[] = [];

  const hostname: Sourced<string> =
    options.hostname !== undefined
      ? { value: options.hostname.toLowerCase(), source: origin('hostname') }
      : { value: src.hostname().toLowerCase(), source: 'hostname(2)' };

  const hostsText = src.readFile(src.paths.hosts);
  const hostsEntry =
    hostsText === undefined ? undefined : findPodFqdn(parseHostsFile(hostsText), hostname.value);
  const hostsSource = `${src.paths.hosts} FQDN`;

  const resolvText = src.readFile(src.paths.resolvConf);
  const resolvConf = resolvText === undefined ? undefined : parseResolvConf(resolvText);
  const searchDomain = resolvConf === undefined ? undefined : clusterDomainFromSearch(resolvConf.search);

  const peerList = options.peers === undefined ? undefined : splitPeers(options.peers, origin('peers'));

  // Completions: option, else the explicit peer list's length.
  let completions: Sourced<number> | undefined;
  if (options.completions !== undefined && String(options.completions) !== '') {
    completions = {
      value: parseCompletions(String(options.completions), origin('completions')),
      source: origin('completions'),
    };
    if (peerList !== undefined && peerList.length !== completions.value) {
      throw new ConfigError(
        `completions ${completions.value} from ${completions.source} does not match the ${peerList.length} names of ${origin('peers')}`,
        { value: String(completions.value), source: completions.source },
      );
    }
  } else if (peerList !== undefined) {
    completions = { value: peerList.length, source: `${origin('peers')} (count)` };
  }

  // Index: option, else $JOB_COMPLETION_INDEX, else (explicit list) the position of this host in it.
  let index: Sourced<number> | undefined;
  if (options.index !== undefined && String(options.index) !== '') {
    index = { value: parseIndex(String(options.index), origin('index')), source: origin('index') };
  } else if (src.env.JOB_COMPLETION_INDEX !== undefined && src.env.JOB_COMPLETION_INDEX !== '') {
    const source = 'env JOB_COMPLETION_INDEX';
    index = { value: parseIndex(src.env.JOB_COMPLETION_INDEX, source), source };
  } else if (peerList !== undefined) {
    const at = peerList.findIndex((p) => p.split('.')[0] === hostname.value || p === hostsEntry?.address);
    if (at >= 0)
      index = {
        value: at,
        source: `position of ${hostname.source} ${quote(hostname.value)} in ${origin('peers')}`,
      };
  }
  if (index === undefined) {
    throw new ConfigError(
      'no completion index: JOB_COMPLETION_INDEX is not set (is this an Indexed Job?); pass --index or set PEER_RENDEZVOUS_INDEX',
      { source: 'env JOB_COMPLETION_INDEX' },
    );
  }
  if (completions === undefined) {
    throw new ConfigError(
      "no completions (world size): Kubernetes does not inject it; pass --completions or set PEER_RENDEZVOUS_COMPLETIONS to the Job's spec.completions",
      { source: 'option completions' },
    );
  }
  if (index.value >= completions.value) {
    throw new ConfigError(
      `completion index ${index.value} from ${index.source} is not valid: expected 0 ≤ index < completions (${completions.value} from ${completions.source})`,
      { value: String(index.value), source: index.source },
    );
  }

  // Cluster domain: option, else resolv.conf `svc.<zone>`, else the hosts-file FQDN, else cluster.local.
  const fqdnParts = hostsEntry === undefined ? undefined : splitPodFqdn(hostsEntry.fqdn);
  let clusterDomain: Sourced<string>;
  if (options.clusterDomain !== undefined && options.clusterDomain !== '') {
    clusterDomain = { value: options.clusterDomain, source: origin('clusterDomain') };
  } else if (searchDomain !== undefined) {
    clusterDomain = { value: searchDomain, source: `${src.paths.resolvConf} search svc.${searchDomain}` };
  } else if (fqdnParts?.domain !== undefined) {
    clusterDomain = { value: fqdnParts.domain, source: hostsSource };
  } else {
    clusterDomain = { value: 'cluster.local', source: 'default' };
  }
  clusterDomain = { ...clusterDomain, value: trimDot(clusterDomain.value.toLowerCase()) };
  assertName('cluster domain', clusterDomain.value, clusterDomain.source);

  let jobName: Sourced<string> | undefined;
  let subdomain: Sourced<string> | undefined;
  let namespace: Sourced<string> | undefined;

  if (options.jobName !== undefined && options.jobName !== '') {
    jobName = { value: options.jobName, source: origin('jobName') };
  } else {
    const m = JOB_HOSTNAME.exec(hostname.value);
    if (m && Number(m[2]) === index.value)
      jobName = { value: m[1]!, source: `${hostname.source} minus -${index.value}` };
  }

  if (options.namespace !== undefined && options.namespace !== '') {
    namespace = { value: options.namespace, source: origin('namespace') };
  } else if (fqdnParts !== undefined) {
    namespace = { value: fqdnParts.namespace, source: hostsSource };
  } else {
    const nsText = src.readFile(src.paths.namespace)?.trim();
    if (nsText) namespace = { value: nsText, source: src.paths.namespace };
  }

  if (options.subdomain !== undefined && options.subdomain !== '') {
    subdomain = { value: options.subdomain, source: origin('subdomain') };
  } else if (fqdnParts !== undefined) {
    subdomain = { value: fqdnParts.subdomain, source: hostsSource };
  }

  if (jobName !== undefined) assertLabel('job name', jobName.value, jobName.source);
  if (namespace !== undefined) assertLabel('namespace', namespace.value, namespace.source);
  if (subdomain !== undefined) assertLabel('subdomain', subdomain.value, subdomain.source);

  let peers: string[];
  let mode: 'job' | 'peers';
  if (peerList !== undefined) {
    mode = 'peers';
    peers = peerList;
  } else {
    mode = 'job';
    if (jobName === undefined) {
      throw new ConfigError(
        `no job name: hostname ${quote(hostname.value)} is not <job>-${index.value}; pass --job-name or set PEER_RENDEZVOUS_JOB_NAME`,
        { value: hostname.value, source: hostname.source },
      );
    }
    if (subdomain === undefined) {
      throw new ConfigError(
        `no subdomain: ${src.paths.hosts} has no FQDN for ${quote(hostname.value)} (the pod template has no spec.subdomain?); pass --subdomain or set PEER_RENDEZVOUS_SUBDOMAIN`,
        { source: src.paths.hosts },
      );
    }
    if (namespace === undefined) {
      throw new ConfigError(
        `no namespace: neither ${src.paths.hosts} nor ${src.paths.namespace} gives one; pass --namespace or set PEER_RENDEZVOUS_NAMESPACE`,
        { source: src.paths.namespace },
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
    peers = Array.from({ length: completions.value }, (_, i) => `${jobName.value}-${i}${suffix}`);
  }

  const self = peers[index.value]!;
  const coordinator = peers[0]!;
  const jobKey =
    mode === 'job'
      ? `${namespace!.value}/${jobName!.value}/${completions.value}`
      : `peers/${createHash('sha256').update(peers.join(',')).digest('hex').slice(0, 16)}`;

  // Warnings a user needs before anything goes on the network.
  if (resolvConf === undefined) {
    warnings.push(`${src.paths.resolvConf} could not be read: pass --dns-server to name the cluster DNS`);
  } else if (searchDomain === undefined) {
    warnings.push(
      `${src.paths.resolvConf} has no svc.<domain> search entry: the pod's dnsPolicy is not ClusterFirst, so short names like <host>.<subdomain> do not resolve (peer-rendezvous itself uses absolute names)`,
    );
  } else if (searchDomain !== clusterDomain.value) {
    warnings.push(
      `cluster domain ${quote(clusterDomain.value)} from ${clusterDomain.source} differs from ${quote(searchDomain)} in ${src.paths.resolvConf}`,
    );
  }
  if (mode === 'job' && jobName !== undefined && hostname.value !== `${jobName.value}-${index.value}`) {
    warnings.push(
      `hostname ${quote(hostname.value)} is not ${quote(`${jobName.value}-${index.value}`)}: is this pod part of Indexed Job ${quote(jobName.value)}?`,
    );
  }
  if (hostsEntry === undefined && mode === 'job') {
    warnings.push(
      `${hostsText === undefined ? `${src.paths.hosts} could not be read` : `${src.paths.hosts} has no FQDN for ${quote(hostname.value)}`}: the pod has no subdomain, so peers cannot resolve its name (set spec.template.spec.subdomain to the headless Service's name)`,
    );
  } else if (hostsEntry !== undefined && mode === 'job' && trimDot(self) !== hostsEntry.fqdn) {
    warnings.push(
      `own peer name ${quote(self)} differs from the FQDN ${quote(hostsEntry.fqdn)} in ${src.paths.hosts}`,
    );
  }

  return {
    mode,
    index,
    completions,
    jobName,
    subdomain,
    namespace,
    clusterDomain,
    hostname,
    hostsEntry,
    peers,
    self,
    coordinator,
    jobKey,
    resolvConf,
    warnings,
  };
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

/** Turn `a,b,c` (or an array) into absolute names; IP literals are kept as they are. */
export function splitPeers(input: readonly string[] | string, source: string): string[] {
  const items = (typeof input === 'string' ? input.split(',') : input.flatMap((s) => s.split(','))).map((s) =>
    s.trim(),
  );
  if (items.length === 0 || items.every((s) => s === '')) {
    const value = typeof input === 'string' ? input : input.join(',');
    throw new ConfigError(
      `peers ${quote(value)} from ${source} is empty: expected a comma-separated list of host names`,
      {
        value,
        source,
      },
    );
  }
  const seen = new Set<string>();
  return items.map((item) => {
    if (item === '') {
      throw new ConfigError(
        `peers from ${source} has an empty entry: expected host names separated by single commas`,
        {
          value: typeof input === 'string' ? input : input.join(','),
          source,
        },
      );
    }
    const name = ipFamily(item) !== 0 ? item : `${trimDot(item.toLowerCase())}.`;
    if (ipFamily(item) === 0) assertName('peer name', item.toLowerCase(), source);
    if (seen.has(name))
      throw new ConfigError(`peer ${quote(item)} appears twice in ${source}`, { value: item, source });
    seen.add(name);
    return name;
  });
}

function trimDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}
