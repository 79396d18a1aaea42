// DNS-1123 names as Kubernetes checks them: labels and subdomains. A bottom module: dns/ and identity/ use it.
import { quote } from './errors.js';

/** Maximum length of a DNS-1123 label (RFC 1123, Kubernetes `validation.DNS1123LabelMaxLength`). */
export const MAX_LABEL_LENGTH = 63;
/** Maximum length of a fully qualified name, without the trailing dot. */
export const MAX_NAME_LENGTH = 253;

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
