// `--peers`: an explicit list, completed like the search list; this pod's place found by name or address.
import { ipFamily } from '../../dns/ip-bytes.js';
import { ConfigError, quote } from '../../errors.js';
import type { IdentityOptionName, IdentityOptions } from '../identity.js';
import { type Built, checkRange, completionsOption, indexOption } from '../options.js';
import { completeName, envOf, type PodView, type Sourced, trimDot } from '../pod-view.js';
import type { Detail } from '../providers.js';
import { assertName, parseIndex } from '../validate.js';

/** `--peers`: position in the list is the index unless --index says otherwise. */
export function peersIdentity(
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
    // node:crypto on use only: every other mode's start-up goes without it (random.ts).
    jobKey: `peers/${process.getBuiltinModule('node:crypto').createHash('sha256').update(peers.join(',')).digest('hex').slice(0, 16)}`,
    warnings,
  };
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
