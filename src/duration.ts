// Durations as users write them: `30s`, `5m`, `250ms`, `1h`, `1m30s`, or a bare number of seconds.
import { ConfigError, quote } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The longest duration accepted: what one Node timer holds (2^31 − 1 ms, about 24.8 days). A longer delay
 * makes setTimeout fire after 1 ms (with a TimeoutOverflowWarning), so `--timeout 1000h` would give up at
 * once; such values are refused instead of being silently shortened.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** `duration "1000h" from flag --timeout is too long: at most …` when `ms` is above MAX_DURATION_MS. */
export function checkDurationLimit(ms: number, value: string | number, source: string): number {
  if (ms <= MAX_DURATION_MS) return ms;
  throw new ConfigError(
    `duration ${quote(value)} from ${source} is too long: at most ${MAX_DURATION_MS} ms (596h31m23s, the longest a timer holds)`,
    { value: String(value), source },
  );
}

/**
 * Parse a duration into milliseconds; a bare number is seconds. Throws ConfigError naming value and source,
 * also for durations above MAX_DURATION_MS.
 */
export function parseDuration(value: string | number, source: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0)
      return checkDurationLimit(Math.round(value * 1000), value, source);
  } else {
    const v = value.trim();
    if (/^\d+(\.\d+)?$/.test(v)) return checkDurationLimit(Math.round(Number(v) * 1000), value, source);
    const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (parts.length > 0 && parts.map((p) => p[0]).join('') === v) {
      const ms = Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0));
      return checkDurationLimit(ms, value, source);
    }
  }
  throw new ConfigError(
    `duration ${quote(value)} from ${source} is not valid: expected e.g. 30s, 5m, 250ms, 1m30s or a number of seconds`,
    { value: String(value), source },
  );
}

/** 1234 → `1.23 s`, 45 → `45 ms`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
