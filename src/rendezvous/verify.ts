// `--verify star|mesh|dns|tcp:<port>`: what "ready" means.
import { ConfigError, quote } from '../errors.js';

export type VerifyMode =
  | { kind: 'star' }
  | { kind: 'mesh' }
  | { kind: 'dns' }
  | { kind: 'tcp'; port: number };

/** Parse a verify mode, naming the value and its source when it is bad. */
export function parseVerifyMode(value: string, source = 'option verify'): VerifyMode {
  const v = value.trim().toLowerCase();
  if (v === 'star' || v === 'mesh' || v === 'dns') return { kind: v };
  const m = /^tcp:(\d{1,5})$/.exec(v);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 65535) return { kind: 'tcp', port: Number(m[1]) };
  throw new ConfigError(
    `verify mode ${quote(value)} from ${source} is not valid: expected star, mesh, dns or tcp:<port 1-65535>`,
    {
      value,
      source,
    },
  );
}

/** `tcp:22` / `star`. */
export function formatVerifyMode(mode: VerifyMode): string {
  return mode.kind === 'tcp' ? `tcp:${mode.port}` : mode.kind;
}
