// Durations as users write them: `30s`, `5m`, `250ms`, `1h`, `1m30s`, or a bare number of seconds.
import { ConfigError, quote } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parse a duration into milliseconds; a bare number is seconds. Throws ConfigError naming value and source. */
export function parseDuration(value: string | number, source: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.round(value * 1000);
  } else {
    const v = value.trim();
    if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
    const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (parts.length > 0 && parts.map((p) => p[0]).join('') === v) {
      return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0));
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
