// Misspelt names: unknown flags (a usage error, 64) and unknown PEER_RENDEZVOUS_* variables (a configuration
// error, 78), each with the closest known name. `PEER_RENDEZVOUS_TOKN=x` must not run the job without a token.
import { ConfigError } from '../errors.js';
import { ENV_PREFIX } from './options.js';

/** Edit distance with adjacent transpositions (optimal string alignment): `tiemout` is 1 from `timeout`. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known name closest to `name`, if it is close enough to be a slip: at most 2 edits (3 for names of 9+
 * characters), or `name` is a prefix of it of 3+ characters (`--time` → `--timeout`). Ties go to the first.
 */
export function closest(name: string, known: Iterable<string>): string | undefined {
  const wanted = name.toLowerCase();
  const limit = wanted.length >= 9 ? 3 : 2;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    if (c === wanted) continue;
    let distance = editDistance(wanted, c);
    if (distance > limit && wanted.length >= 3 && c.startsWith(wanted)) distance = limit;
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** ` (did you mean X?)`, or nothing. */
export function didYouMean(name: string, known: Iterable<string>, prefix = ''): string {
  const match = closest(name, known);
  return match === undefined ? '' : ` (did you mean ${prefix}${match}?)`;
}

/** The `PEER_RENDEZVOUS_*` names of `env` that are not in `known`, sorted. */
export function unknownEnvNames(
  env: Readonly<Record<string, string | undefined>>,
  known: ReadonlySet<string>,
): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && env[name] !== undefined && !known.has(name))
    .sort();
}

/**
 * The configuration error for unknown `PEER_RENDEZVOUS_*` variables. An error, not a warning: the agent runs
 * unattended in a pod where nobody reads warnings, the prefix is the agent's own, and a name no command reads
 * is a slip whose cost can be the token (`PEER_RENDEZVOUS_TOKN`) or the timeout silently left at its default.
 */
export function unknownEnvError(names: readonly string[], known: ReadonlySet<string>): ConfigError {
  const each = names.map((name) => `${name}${didYouMean(name, known)}`);
  return new ConfigError(
    `env ${each.join(', ')} ${names.length === 1 ? 'is not a setting' : 'are not settings'} of peer-rendezvous: every PEER_RENDEZVOUS_<NAME> must name an option (--<name>); fix the name or unset it`,
    { value: names.join(','), source: `env ${names.join(', env ')}` },
  );
}
