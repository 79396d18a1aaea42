// `--index` and `--completions`: read from the options and checked against the list a provider built.
import { ipFamily } from '../dns/ip-bytes.js';
import { ConfigError } from '../errors.js';
import type { Identity, IdentityOptionName, IdentityOptions } from './identity.js';
import { type PodView, type Sourced, trimDot } from './pod-view.js';
import type { ProviderResult } from './providers.js';
import { assertName, parseCompletions, parseIndex } from './validate.js';

/** What a provider path returns; discoverIdentity adds the pod-wide fields. */
export type Built = Omit<
  Identity,
  'provider' | 'self' | 'coordinator' | 'hostname' | 'hostsEntry' | 'resolvConf' | 'clusterDomain'
>;

/** Throw unless 0 ≤ index < completions. */
export function checkRange(index: Sourced<number>, completions: Sourced<number>): void {
  if (index.value >= completions.value) {
    throw new ConfigError(
      `completion index ${index.value} from ${index.source} is not valid: expected 0 ≤ index < completions (${completions.value} from ${completions.source})`,
      { value: String(index.value), source: index.source },
    );
  }
}

/** `--completions` with its source, or undefined when not given. */
export function completionsOption(
  options: IdentityOptions,
  origin: (name: IdentityOptionName) => string,
): Sourced<number> | undefined {
  if (options.completions === undefined || String(options.completions) === '') return undefined;
  return {
    value: parseCompletions(String(options.completions), origin('completions')),
    source: origin('completions'),
  };
}

/** `--index` with its source, or undefined when not given. */
export function indexOption(
  options: IdentityOptions,
  origin: (name: IdentityOptionName) => string,
): Sourced<number> | undefined {
  if (options.index === undefined || String(options.index) === '') return undefined;
  return { value: parseIndex(String(options.index), origin('index')), source: origin('index') };
}

/** A provider's list, with --index/--completions allowed to say the same (a conflict is an error). */
export function fromProvider(
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
