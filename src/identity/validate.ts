// Validation the way Kubernetes does it: DNS-1123 labels and subdomains, Indexed Job bounds.
import { ConfigError, quote } from '../errors.js';
import { labelProblem, nameProblem } from '../names.js';

/** Kubernetes caps `completions` of an Indexed Job at 100000 (`parallelism` too). */
export const MAX_COMPLETIONS = 100_000;

/** Throw a ConfigError naming the value and its source unless it is a DNS-1123 label. */
export function assertLabel(what: string, value: string, source: string): string {
  const problem = labelProblem(value);
  if (problem !== undefined) {
    throw new ConfigError(
      `${what} ${quote(value)} from ${source} is not a valid DNS-1123 label: ${problem}`,
      {
        value,
        source,
      },
    );
  }
  return value;
}

/** Throw a ConfigError unless `value` is a DNS name (labels joined by dots, ≤ 253). */
export function assertName(what: string, value: string, source: string): string {
  const problem = nameProblem(value);
  if (problem !== undefined) {
    throw new ConfigError(`${what} ${quote(value)} from ${source} is not a valid DNS name: ${problem}`, {
      value,
      source,
    });
  }
  return value;
}

/**
 * Parse a non-negative decimal integer the way a user would write it: digits only, no sign, no
 * exponent, no blanks. Returns undefined for anything else.
 */
export function parseDecimal(value: string): number | undefined {
  if (!/^[0-9]+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parse `completions` (the world size): an integer 1 ≤ n ≤ 100000. */
export function parseCompletions(value: string, source: string): number {
  const n = parseDecimal(value.trim());
  if (n === undefined || n < 1 || n > MAX_COMPLETIONS) {
    throw new ConfigError(
      `completions ${quote(value)} from ${source} is not valid: expected an integer from 1 to ${MAX_COMPLETIONS}`,
      { value, source },
    );
  }
  return n;
}

/** Parse the completion index: an integer 0 ≤ index (the upper bound is checked against completions). */
export function parseIndex(value: string, source: string): number {
  const n = parseDecimal(value.trim());
  if (n === undefined) {
    throw new ConfigError(
      `completion index ${quote(value)} from ${source} is not valid: expected a non-negative integer`,
      { value, source },
    );
  }
  return n;
}
