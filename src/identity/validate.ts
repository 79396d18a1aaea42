// Validation the way Kubernetes does it: DNS-1123 labels and subdomains, Indexed Job bounds.
import { ConfigError, quote } from '../errors.js';

/** Maximum length of a DNS-1123 label (RFC 1123, Kubernetes `validation.DNS1123LabelMaxLength`). */
export const MAX_LABEL_LENGTH = 63;
/** Maximum length of a fully qualified name, without the trailing dot. */
export const MAX_NAME_LENGTH = 253;
/** Kubernetes caps `completions` of an Indexed Job at 100000 (`parallelism` too). */
export const MAX_COMPLETIONS = 100_000;

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Why `value` is not a DNS-1123 label, or undefined when it is one. */
export function labelProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_LABEL_LENGTH)
    return `must be at most ${MAX_LABEL_LENGTH} characters (is ${value.length})`;
  if (!LABEL.test(value)) {
    return "must consist of lower case alphanumeric characters or '-', and start and end with an alphanumeric character";
  }
  return undefined;
}

/** True when `value` is a DNS-1123 label: 1–63 of `[a-z0-9-]`, alphanumeric at both ends. */
export function isDns1123Label(value: string): boolean {
  return labelProblem(value) === undefined;
}

/** Why `value` (dots allowed, optional trailing dot) is not a DNS-1123 subdomain, or undefined. */
export function nameProblem(value: string): string | undefined {
  const bare = value.endsWith('.') ? value.slice(0, -1) : value;
  if (bare.length === 0) return 'must not be empty';
  if (bare.length > MAX_NAME_LENGTH)
    return `must be at most ${MAX_NAME_LENGTH} characters (is ${bare.length})`;
  for (const label of bare.split('.')) {
    const problem = labelProblem(label);
    if (problem !== undefined) return `label ${quote(label)} ${problem}`;
  }
  return undefined;
}

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
