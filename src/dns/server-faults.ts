// Fault knobs of the test DNS server: validated, merged, and the per-query decision (drop, SERVFAIL, delay).
import { quote, UsageError } from '../errors.js';

/** A delay for the names a pattern matches. */
export interface NameDelay {
  /**
   * A RegExp tested against the lower-case name without the trailing dot, or a string: the exact name
   * (case-insensitive, trailing dot optional), or `*.suffix` for every name under `suffix`.
   */
  readonly match: string | RegExp;
  readonly ms: number;
}

/** Faults the server injects. Every field is optional in `start({ faults })` and `setFaults()`. */
export interface DnsFaults {
  /** Delay every answer by this many ms (default 0). */
  readonly delayMs: number;
  /** Per-name delays; the first match wins over `delayMs`. */
  readonly delays: readonly NameDelay[];
  /** Fraction 0–1 of queries never answered. */
  readonly dropRatio: number;
  /** Fraction 0–1 of queries answered SERVFAIL (drawn after the drop). */
  readonly servfailRatio: number;
  /** A withdrawn pod address (pod removed or no longer Ready) is still served for this long. */
  readonly staleForMs: number;
  /** A pod re-set with new addresses (a restart) keeps answering its old ones too for this long. */
  readonly restartOverlapMs: number;
}

/** No faults. */
export const NO_FAULTS: DnsFaults = Object.freeze({
  delayMs: 0,
  delays: Object.freeze([]) as readonly NameDelay[],
  dropRatio: 0,
  servfailRatio: 0,
  staleForMs: 0,
  restartOverlapMs: 0,
});

const KEYS = Object.keys(NO_FAULTS) as (keyof DnsFaults)[];

/** `base` with `partial` applied, validated; throws UsageError naming the bad knob and value. */
export function mergeFaults(base: DnsFaults, partial: Partial<DnsFaults>): DnsFaults {
  if (partial === null || typeof partial !== 'object') {
    throw new UsageError(`DNS faults ${quote(partial)} must be an object`);
  }
  const out: { -readonly [K in keyof DnsFaults]: DnsFaults[K] } = { ...base };
  for (const key of Object.keys(partial)) {
    if (!(KEYS as string[]).includes(key)) {
      throw new UsageError(`unknown DNS fault ${quote(key)}: expected one of ${KEYS.join(', ')}`);
    }
  }
  for (const key of ['delayMs', 'staleForMs', 'restartOverlapMs'] as const) {
    const value = partial[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new UsageError(`DNS fault ${key} ${quote(value)} is invalid: expected milliseconds ≥ 0`);
    }
    out[key] = value;
  }
  for (const key of ['dropRatio', 'servfailRatio'] as const) {
    const value = partial[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new UsageError(`DNS fault ${key} ${quote(value)} is invalid: expected a fraction 0–1`);
    }
    out[key] = value;
  }
  if (partial.delays !== undefined) {
    if (!Array.isArray(partial.delays))
      throw new UsageError('DNS fault delays must be an array of { match, ms }');
    out.delays = Object.freeze(partial.delays.map((d, i) => normalizeDelay(d, i)));
  }
  return Object.freeze(out);
}

function normalizeDelay(d: NameDelay, index: number): NameDelay {
  const ms = d?.ms;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new UsageError(`DNS fault delays[${index}].ms ${quote(ms)} is invalid: expected milliseconds ≥ 0`);
  }
  const match = d.match;
  if (match instanceof RegExp)
    return { match: new RegExp(match.source, match.flags.replace(/[gy]/g, '')), ms };
  if (typeof match !== 'string' || match === '' || match === '.') {
    throw new UsageError(
      `DNS fault delays[${index}].match ${quote(match)} is invalid: expected a name, '*.suffix' or a RegExp`,
    );
  }
  return { match: match.toLowerCase().replace(/\.$/, ''), ms };
}

/** The delay for `name` (lower case, no trailing dot). */
export function delayFor(faults: DnsFaults, name: string): number {
  for (const d of faults.delays) {
    const m = d.match;
    if (typeof m === 'string') {
      if (m.startsWith('*.') ? name.endsWith(m.slice(1)) : name === m) return d.ms;
    } else if (m.test(name)) {
      return d.ms;
    }
  }
  return faults.delayMs;
}
