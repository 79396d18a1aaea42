// Parsers for the files controllers and the kubelet put in a pod besides /etc/hosts: the downward-API
// `labels`/`annotations` files (kubelet fieldpath.FormatMap: sorted `key="value"` lines, the value quoted as
// Go's %q does) and MPI hostfiles (`host slots=N` for Open MPI, `host:N` for Intel MPI/MPICH).
import { ConfigError, quote } from '../errors.js';

/** Parse a downward-API map file (`key="value"` a line, Go-quoted values). Throws naming file and line. */
export function parseDownwardApiMap(text: string, source: string): Map<string, string> {
  const map = new Map<string, string>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError(
        `${source} line ${n + 1} ${quote(line)} is not valid: expected key="value" as the kubelet writes it`,
        { value: line, source },
      );
    }
    const key = line.slice(0, eq);
    const value = unquoteGo(line.slice(eq + 1));
    if (value === undefined) {
      throw new ConfigError(
        `${source} line ${n + 1}: the value of ${quote(key)} is not a Go-quoted string: expected "…" with \\" \\\\ \\n \\t \\xNN \\uNNNN escapes`,
        { value: line, source },
      );
    }
    map.set(key, value);
  }
  return map;
}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 0x5c,
  '"': 0x22,
  "'": 0x27,
};

/** Undo Go's strconv.Quote; undefined when `s` is not exactly one double-quoted Go string. */
export function unquoteGo(s: string): string | undefined {
  if (s.length < 2 || s[0] !== '"' || s[s.length - 1] !== '"') return undefined;
  const body = s.slice(1, -1);
  const bytes: number[] = [];
  const pushText = (text: string) => {
    for (const b of Buffer.from(text, 'utf8')) bytes.push(b);
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"') return undefined;
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      pushText(ch);
      i += ch.length - 1;
      continue;
    }
    const e = body[++i];
    if (e === undefined) return undefined;
    if (Object.hasOwn(SIMPLE_ESCAPES, e)) {
      bytes.push(SIMPLE_ESCAPES[e]!);
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const width = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) return undefined;
      const v = Number.parseInt(hex, 16);
      if (e === 'x') bytes.push(v);
      else {
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return undefined;
        pushText(String.fromCodePoint(v));
      }
      i += width;
    } else if (/[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) return undefined;
      const v = Number.parseInt(oct, 8);
      if (v > 255) return undefined;
      bytes.push(v);
      i += 2;
    } else {
      return undefined;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Go's strconv.Quote for the characters tests need (ASCII escapes, \xNN for control bytes). */
export function quoteGo(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp === 7) out += '\\a';
    else if (cp === 8) out += '\\b';
    else if (cp === 12) out += '\\f';
    else if (cp === 11) out += '\\v';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** The kubelet's rendering of a label or annotation map (sorted keys, no trailing newline). */
export function formatDownwardApiMap(map: Readonly<Record<string, string>>): string {
  return Object.keys(map)
    .sort()
    .map((k) => `${k}=${quoteGo(map[k]!)}`)
    .join('\n');
}

/** One host of an MPI hostfile. */
export interface HostfileEntry {
  readonly host: string;
  readonly slots: number | undefined;
}

/** Parse an MPI hostfile: `host`, `host slots=N [max_slots=M]` (Open MPI) or `host:N` (Intel MPI, MPICH). */
export function parseMpiHostfile(text: string, source: string): HostfileEntry[] {
  const entries: HostfileEntry[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const m = /^([^\s:]+)(?::([0-9]+))?(?:\s+(.*))?$/.exec(line);
    if (m === null) {
      throw new ConfigError(
        `${source} line ${n + 1} ${quote(line)} is not a hostfile line: expected "host slots=N" or "host:N"`,
        {
          value: line,
          source,
        },
      );
    }
    let slots = m[2] === undefined ? undefined : Number(m[2]);
    for (const field of (m[3] ?? '').split(/\s+/).filter(Boolean)) {
      const kv = /^(slots|max_slots|max-slots)=([0-9]+)$/.exec(field);
      if (kv === null) {
        throw new ConfigError(
          `${source} line ${n + 1}: ${quote(field)} is not understood: expected slots=N or max_slots=N`,
          { value: line, source },
        );
      }
      if (kv[1] === 'slots') slots = Number(kv[2]);
    }
    entries.push({ host: m[1]!.toLowerCase(), slots });
  }
  return entries;
}
