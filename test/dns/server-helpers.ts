// Test helpers for the DNS server: run the real `dig` against it and parse what it prints.
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { ClusterDnsServer } from '../../src/dns/server.js';

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

/** dig's output as printed (for answers dig does not print a status for, like a refused AXFR). */
export async function digRaw(
  server: { host: string; port: number },
  name: string,
  type: string,
): Promise<string> {
  const args = [`@${server.host}`, '-p', String(server.port), name, type, '+tries=1', '+time=3'];
  const { stdout } = await run('dig', args, { timeout: 20_000 });
  return stdout;
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

/** A query in wire form built with dns-packet (EDNS0 OPT when `udpPayloadSize` is given). */
export function encodeQuery(name: string, type: string, id = 4242, udpPayloadSize?: number): Buffer {
  const additionals =
    udpPayloadSize === undefined
      ? []
      : [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          },
        ];
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: 0,
    questions: [{ name, type: type as dnsPacket.RecordType, class: 'IN' }],
    additionals: additionals as dnsPacket.Answer[],
  });
}

/** A decoded response with the fields dns-packet sets but its typings omit. */
export type DecodedResponse = dnsPacket.DecodedPacket & {
  rcode: string;
  flag_aa: boolean;
  flag_tc: boolean;
  answers: dnsPacket.Answer[];
};

/** Send one datagram from a fresh socket; the first reply within `timeoutMs`, or undefined. */
export async function udpExchange(
  server: { host: string; port: number },
  message: Buffer,
  timeoutMs = 2000,
): Promise<Buffer | undefined> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      socket.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      socket.send(message, server.port, server.host);
    });
  } finally {
    socket.close();
  }
}

/** One UDP query decoded, or undefined when nothing came back in time. */
export async function udpQuery(
  server: { host: string; port: number },
  name: string,
  type = 'A',
  timeoutMs = 2000,
): Promise<DecodedResponse | undefined> {
  const reply = await udpExchange(server, encodeQuery(name, type, 4242, 1232), timeoutMs);
  return reply === undefined ? undefined : (dnsPacket.decode(reply) as DecodedResponse);
}

/** A TCP connection that collects length-framed messages. */
export class TcpClient {
  readonly socket: net.Socket;
  readonly messages: Buffer[] = [];
  closed = false;
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 2 && this.#buffer.length - 2 >= this.#buffer.readUInt16BE(0)) {
        const length = this.#buffer.readUInt16BE(0);
        this.messages.push(this.#buffer.subarray(2, 2 + length));
        this.#buffer = this.#buffer.subarray(2 + length);
      }
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static connect(server: { host: string; port: number }): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(server.port, server.host);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new TcpClient(socket));
      });
    });
  }

  /** Write a DNS message with its 2-byte length prefix. */
  static frame(message: Buffer): Buffer {
    const out = Buffer.alloc(message.length + 2);
    out.writeUInt16BE(message.length, 0);
    message.copy(out, 2);
    return out;
  }

  /** Resolve once `count` messages arrived or the connection closed, whichever first, within `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolve once the server closed the connection, within `timeoutMs`. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline)
      await this.waitFor(Number.POSITIVE_INFINITY, deadline - Date.now());
  }

  decoded(): DecodedResponse[] {
    return this.messages.map((m) => dnsPacket.decode(m) as DecodedResponse);
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** Handle counts once pending closes have gone through: polls (≤ ~1 s) until 5 readings 10 ms apart agree. */
export async function settledHandleCounts(): Promise<Record<string, number>> {
  let last = JSON.stringify(handleCounts());
  let same = 0;
  for (let i = 0; i < 100 && same < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = JSON.stringify(handleCounts());
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return handleCounts();
}

/** Handle kinds that grew from `before` to `after` (a leak), e.g. { UDPWrap: 1 }. */
export function grownHandles(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, n] of Object.entries(after)) {
    if (n > (before[kind] ?? 0)) out[kind] = n - (before[kind] ?? 0);
  }
  return out;
}

/** Counts of the handle kinds a server owns (sockets, servers, timers), from process.getActiveResourcesInfo(). */
export function handleCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (/UDP|TCP|Timeout|Pipe/i.test(kind)) out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

/** Start a server with headless Service `svc` in namespace `namespace` and `count` Ready pods job-i at `${prefix}.i`. */
export async function startWithPods(
  options: Parameters<typeof ClusterDnsServer.start>[0],
  svc: string,
  namespace: string,
  count: number,
  prefix: string,
): Promise<ClusterDnsServer> {
  const dns = await ClusterDnsServer.start(options);
  dns.addService({ name: svc, namespace });
  for (let i = 0; i < count; i++) {
    dns.setPod({
      hostname: `job-${i}`,
      subdomain: svc,
      namespace,
      addresses: [`${prefix}.${i}`],
      ready: true,
    });
  }
  return dns;
}
