// The simulation's fault options: parsed once, validated against the pod count, with messages naming the flag.

import { parseDuration } from '../duration.js';
import { quote, UsageError } from '../errors.js';

/** A fault scheduled for one pod at a time after the start, or after the release (every pod released). */
export interface PodEvent {
  readonly index: number;
  readonly atMs: number;
  /** What `atMs` counts from: the run's start (`<i>@2s`) or the moment every pod first released (`<i>@released+1s`). */
  readonly after: 'start' | 'release';
}

/** How an event's time reads in messages: `2.0 s`, `released + 0.5 s`. */
export function eventTime(e: PodEvent): string {
  const s = `${(e.atMs / 1000).toFixed(1)} s`;
  return e.after === 'release' ? `released + ${s}` : s;
}

/** Every fault the simulation injects. */
export interface SimulationFaults {
  /** Pod index → how long after the others it starts. */
  readonly startDelays: ReadonlyMap<number, number>;
  /** A pod's record is published this long after the pod starts (it "becomes ready"). */
  readonly publishDelayMs: number;
  /** Pods killed at a time and started again on a new address (their old record stays served a while). */
  readonly restarts: readonly PodEvent[];
  /** Pods killed at a time, not restarted. */
  readonly kills: readonly PodEvent[];
  /** Fraction of DNS queries dropped / answered SERVFAIL. */
  readonly dnsDrop: number;
  readonly dnsServfail: number;
  /** The Service publishes not-ready addresses (publishNotReadyAddresses: true). */
  readonly notReadyAddresses: boolean;
  /** How long a withdrawn or replaced address is still served. */
  readonly staleForMs: number;
  /** A caching resolver in front of the cluster DNS, capped at this many seconds; undefined: none. */
  readonly dnsCacheSeconds: number | undefined;
}

/** Longest `--dns-cache` (the zone TTL follows it, and a zone TTL is at most an hour). */
export const MAX_DNS_CACHE_SECONDS = 3600;

/** `--dns-cache <duration>` → whole seconds (1 s – 1 h), or undefined for none (absent, `0`, `off`). */
export function parseDnsCache(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === 'off') return undefined;
  const ms = parseDuration(value, 'flag --dns-cache');
  if (ms === 0) return undefined;
  if (ms % 1000 !== 0 || ms > MAX_DNS_CACHE_SECONDS * 1000) {
    throw new UsageError(
      `--dns-cache ${quote(value)} is invalid: expected whole seconds from 1s to 1h (or off), e.g. 30s`,
    );
  }
  return ms / 1000;
}

/** Raw fault options as the CLI parses them. */
export interface RawFaults {
  startDelay?: readonly string[] | string | undefined;
  publishDelay?: string | undefined;
  restart?: readonly string[] | string | undefined;
  kill?: readonly string[] | string | undefined;
  dnsDrop?: number | string | undefined;
  dnsServfail?: number | string | undefined;
  notReadyAddresses?: boolean | undefined;
  staleFor?: string | undefined;
  dnsCache?: string | undefined;
}

const list = (v: readonly string[] | string | undefined): string[] =>
  v === undefined ? [] : (typeof v === 'string' ? [v] : [...v]).flatMap((s) => String(s).split(','));

/** Validate raw fault options for `n` pods. */
export function parseFaults(raw: RawFaults, n: number): SimulationFaults {
  const index = (text: string, flag: string, item: string): number => {
    const i = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(i) || i >= n) {
      throw new UsageError(`${flag} ${quote(item)}: pod index ${quote(text)} is not one of 0-${n - 1}`);
    }
    return i;
  };
  const startDelays = new Map<number, number>();
  for (const item of list(raw.startDelay)) {
    const [i, d] = item.split('=');
    if (i === undefined || d === undefined) {
      throw new UsageError(`--start-delay ${quote(item)} is not <index>=<duration>, e.g. 3=2s`);
    }
    startDelays.set(index(i, '--start-delay', item), parseDuration(d, `flag --start-delay ${item}`));
  }
  const events = (flag: string, values: readonly string[] | string | undefined): PodEvent[] =>
    list(values).map((item) => {
      const [i, t] = item.split('@');
      if (i === undefined || t === undefined) {
        throw new UsageError(
          `${flag} ${quote(item)} is not <index>@<time> or <index>@released+<time>, e.g. 1@2s or 1@released+500ms`,
        );
      }
      const relative = /^released\+/.exec(t.trim());
      const time = relative ? t.trim().slice(relative[0].length) : t;
      return {
        index: index(i, flag, item),
        atMs: parseDuration(time, `flag ${flag} ${item}`),
        after: relative ? 'release' : 'start',
      };
    });
  const ratio = (value: number | string | undefined, flag: string): number => {
    if (value === undefined) return 0;
    const r = typeof value === 'number' ? value : Number(value);
    if (!Number.isFinite(r) || r < 0 || r > 1 || (typeof value === 'string' && value.trim() === '')) {
      throw new UsageError(`${flag} ${quote(value)} is not a ratio: expected a number from 0 to 1, e.g. 0.2`);
    }
    return r;
  };
  return {
    startDelays,
    publishDelayMs:
      raw.publishDelay === undefined ? 200 : parseDuration(raw.publishDelay, 'flag --publish-delay'),
    restarts: events('--restart', raw.restart),
    kills: events('--kill', raw.kill),
    dnsDrop: ratio(raw.dnsDrop, '--dns-drop'),
    dnsServfail: ratio(raw.dnsServfail, '--dns-servfail'),
    notReadyAddresses: raw.notReadyAddresses ?? false,
    staleForMs: raw.staleFor === undefined ? 5_000 : parseDuration(raw.staleFor, 'flag --stale-for'),
    dnsCacheSeconds: parseDnsCache(raw.dnsCache),
  };
}
