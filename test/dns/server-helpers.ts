// Test helpers for the DNS server: run the real `dig` against it and parse what it prints.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One record line of a dig section: owner (as printed, trailing dot), TTL, type and the rdata fields. */
export interface DigRecord {
  readonly name: string;
  readonly ttl: number;
  readonly type: string;
  readonly data: string;
}

/** What dig printed, parsed. */
export interface DigResult {
  readonly status: string;
  readonly flags: readonly string[];
  readonly counts: { query: number; answer: number; authority: number; additional: number };
  readonly answer: readonly DigRecord[];
  readonly authority: readonly DigRecord[];
  readonly additional: readonly DigRecord[];
  /** dig said ';; Truncated, retrying in TCP mode.' */
  readonly retriedTcp: boolean;
  /** The UDP size of the server's OPT record, when it sent one. */
  readonly ednsUdp: number | undefined;
  readonly raw: string;
}

/**
 * `dig @host -p port name type +norecurse` plus `extra` flags (e.g. '+tcp', '+ignore', '+noedns'), one try,
 * 3 s timeout. Runs asynchronously so an in-process server can answer.
 */
export async function dig(
  server: { host: string; port: number },
  name: string,
  type = 'A',
  extra: readonly string[] = [],
): Promise<DigResult> {
  const args = [
    `@${server.host}`,
    '-p',
    String(server.port),
    name,
    type,
    '+norecurse',
    '+tries=1',
    '+time=3',
    ...extra,
  ];
  const { stdout } = await run('dig', args, { timeout: 20_000 });
  return parseDig(stdout);
}

/** Parse dig's default output. */
export function parseDig(raw: string): DigResult {
  const status = /status: ([A-Z0-9]+)/.exec(raw)?.[1];
  if (status === undefined) throw new Error(`dig printed no status:\n${raw}`);
  const flagsLine =
    /;; flags: ([^;]*);\s*QUERY: (\d+), ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)/.exec(raw);
  if (flagsLine === null) throw new Error(`dig printed no flags:\n${raw}`);
  const section = (title: string): DigRecord[] => {
    const start = raw.indexOf(`;; ${title} SECTION:\n`);
    if (start === -1) return [];
    const body = raw.slice(start).split('\n').slice(1);
    const out: DigRecord[] = [];
    for (const line of body) {
      if (line.trim() === '') break;
      const [name, ttl, , type, ...data] = line.split(/\s+/);
      out.push({ name: name ?? '', ttl: Number(ttl), type: type ?? '', data: data.join(' ') });
    }
    return out;
  };
  const udp = /; EDNS: version: \d+, flags:[^;]*; udp: (\d+)/.exec(raw)?.[1];
  return {
    status,
    flags: (flagsLine[1] ?? '').trim().split(/\s+/).filter(Boolean),
    counts: {
      query: Number(flagsLine[2]),
      answer: Number(flagsLine[3]),
      authority: Number(flagsLine[4]),
      additional: Number(flagsLine[5]),
    },
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    retriedTcp: raw.includes('Truncated, retrying in TCP mode'),
    ednsUdp: udp === undefined ? undefined : Number(udp),
    raw,
  };
}
