// An authoritative DNS server modelling CoreDNS' `kubernetes` plugin, for tests, benchmarks and `simulate`.
//
// API
//   const dns = await ClusterDnsServer.start({ host: '127.0.0.1', port: 0, zone: 'cluster.local', ttl: 5,
//     faults: { delayMs, delays: [{ match, ms }], dropRatio, servfailRatio, staleForMs, restartOverlapMs },
//     random: () => number, now: () => number, onQuery: (event) => void,
//     tcpIdleTimeoutMs: 10_000, maxTcpConnections: 1024, maxUdpPayload: 4096,
//     cacheSeconds: 30, negativeCacheSeconds: 30 });   cache mode (CoreDNS `cache 30`), default off
//   dns.address                       { host, port }: UDP and TCP listen on the same port
//   dns.addService({ name, namespace, publishNotReadyAddresses?, ports?: [{ name, port, protocol? }] })
//   dns.removeService({ name, namespace })
//   dns.setPod({ hostname, subdomain, namespace, addresses: ['10.0.0.1', 'fd00::1'], ready })   upsert
//   dns.removePod({ hostname, subdomain, namespace })
//   dns.setFaults(partial)  dns.faults     fault knobs, at any time
//   dns.stats()  dns.resetStats()          counters by name and type, rcode, faults, cache hits/misses
//   dns.flushCache()                       cache mode: forget every cached answer (a restarted cache)
//   dns.model                              the record model (ClusterZone): resolve(name, type) without sockets
//   await dns.close()                      closes both sockets, every TCP connection and every timer
//
// What it answers (see src/dns/zone.ts and docs/dns-server.md): pod records, headless Service names, SRV for
// named ports with A/AAAA in Additional, NXDOMAIN/NODATA with the zone SOA, AA set; REFUSED outside the
// zone; NOTIMP for opcodes other than QUERY; FORMERR for qdcount ≠ 1; BADVERS for EDNS version > 0. UDP
// answers are cut to 512 bytes, or to the EDNS size the client advertised (capped at `maxUdpPayload`), with
// TC=1; TCP uses 2-byte length framing, pipelined queries, an idle timeout and a connection cap. Packets that
// cannot be parsed are ignored (UDP) or close the connection (TCP).
//
// Cache mode (`cacheSeconds`): the server answers as CoreDNS' `cache` plugin in front of the `kubernetes`
// plugin does (src/dns/server-cache.ts): an answer once given is served again for min(record TTL, cap), a
// denial for min(SOA TTL, SOA MINIMUM, negative cap), whatever the zone does meanwhile, TTLs counting down.
import dgram from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { quote, UsageError } from '../errors.js';
import { ipFamily } from './ip-bytes.js';
import { AnswerCache } from './server-cache.js';
import { type DnsFaults, delayFor, mergeFaults, NO_FAULTS } from './server-faults.js';
import { type DnsServerStats, StatsCounter } from './server-stats.js';
import {
  CLASS_IN,
  CLASSIC_UDP_LIMIT,
  type EncodedAnswer,
  emptyAnswer,
  encodeRecord,
  MAX_TCP_MESSAGE,
  type ParsedQuery,
  parseQuery,
  questionLabels,
  TYPE_AXFR,
  TYPE_IXFR,
  writeResponse,
  zoneQueryType,
} from './server-wire.js';
import { type DnsServerAddress, RCODE, type RcodeName } from './types.js';
import { ClusterZone } from './zone.js';
import type { PodRef, PodSpec, ServiceRef, ServiceSpec, ZoneAnswer } from './zone-types.js';

export type { DnsFaults, NameDelay } from './server-faults.js';
export type { DnsServerStats, QueryTypeCounts } from './server-stats.js';
export type { PodRef, PodSpec, ServicePortSpec, ServiceRef, ServiceSpec } from './zone-types.js';

/** Options of {@link ClusterDnsServer.start}. */
export interface ClusterDnsServerOptions {
  /** IP literal to listen on. Default '127.0.0.1'. */
  readonly host?: string;
  /** Port for both UDP and TCP; 0 picks one free for both. Default 0. */
  readonly port?: number;
  /** Cluster domain. Default 'cluster.local'. */
  readonly zone?: string;
  /** TTL of positive records and the SOA MINIMUM, like CoreDNS `ttl`. Default 5. */
  readonly ttl?: number;
  /** Initial fault knobs (default none). */
  readonly faults?: Partial<DnsFaults>;
  /** Source of randomness for drop/SERVFAIL draws. Default Math.random. */
  readonly random?: () => number;
  /** Milliseconds clock for lingering records. Default Date.now. */
  readonly now?: () => number;
  /** Called once per parsed query, after the server decided what to do. Must not throw. */
  readonly onQuery?: (event: DnsQueryEvent) => void;
  /** A TCP connection with no traffic for this long is closed. Default 10000. */
  readonly tcpIdleTimeoutMs?: number;
  /** TCP connections open at once; more are closed on accept. Default 1024. */
  readonly maxTcpConnections?: number;
  /** Largest UDP answer whatever the client's EDNS size says (≥ 512). Default 4096. */
  readonly maxUdpPayload?: number;
  /**
   * Cache mode, like CoreDNS' `cache <seconds>` in front of the zone: an answer is served from the cache for
   * min(its smallest record TTL, this) seconds after it was first given, even when the zone changed since.
   * 0 or absent: no cache (every answer from the zone as it is now). 0–86400.
   */
  readonly cacheSeconds?: number;
  /** Cap for denials (NXDOMAIN, NODATA): kept min(SOA TTL, SOA MINIMUM, this) seconds. Default cacheSeconds. */
  readonly negativeCacheSeconds?: number;
}

/** What the server did with one query (for `onQuery`). */
export interface DnsQueryEvent {
  /** Lower-case name without the trailing dot. */
  readonly name: string;
  /** 'A', 'AAAA', 'SRV', 'SOA', 'NS', 'ANY' or 'TYPE<n>'. */
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
  /** The rcode sent, or undefined when the query was dropped. */
  readonly rcode: RcodeName | undefined;
  readonly answers: number;
  readonly truncated: boolean;
  /** Delay applied before sending (0 when none). */
  readonly delayMs: number;
  /** Cache mode: the answer came from the cache (false otherwise, and always without cache mode). */
  readonly cached: boolean;
}

const OPTION_KEYS = [
  'host',
  'port',
  'zone',
  'ttl',
  'faults',
  'random',
  'now',
  'onQuery',
  'tcpIdleTimeoutMs',
  'maxTcpConnections',
  'maxUdpPayload',
  'cacheSeconds',
  'negativeCacheSeconds',
] as const;

interface Settings {
  readonly host: string;
  readonly port: number;
  readonly zone: string | undefined;
  readonly ttl: number | undefined;
  readonly faults: DnsFaults;
  readonly random: () => number;
  readonly now: () => number;
  readonly onQuery: ((event: DnsQueryEvent) => void) | undefined;
  readonly tcpIdleTimeoutMs: number;
  readonly maxTcpConnections: number;
  readonly maxUdpPayload: number;
  readonly cacheSeconds: number;
  readonly negativeCacheSeconds: number;
}

interface CachedAnswer extends EncodedAnswer {
  readonly version: number;
  readonly validUntil: number;
}

/** Bound on cached encoded answers (names × types); the cache starts over past it. */
const CACHE_LIMIT = 50_000;
const RCODE_NAMES: Record<number, RcodeName> = Object.fromEntries(
  Object.entries(RCODE).map(([name, code]) => [code, name as RcodeName]),
);
const BIND_ATTEMPTS = 20;
/** Longest cache cap (one day; CoreDNS' own default caps are 3600 and 1800). */
const MAX_CACHE_SECONDS = 86_400;
/** Unsent TCP answer bytes after which a connection that does not read is closed. */
const MAX_TCP_BACKLOG = 1024 * 1024;

/** The CoreDNS-like authoritative server on UDP and TCP. Create it with {@link ClusterDnsServer.start}. */
export class ClusterDnsServer {
  /** Where it listens (UDP and TCP). */
  readonly address: DnsServerAddress;
  /** The record model behind the answers. */
  readonly model: ClusterZone;
  readonly #udp: dgram.Socket;
  readonly #tcp: Server;
  readonly #settings: Settings;
  #faults: DnsFaults;
  readonly #stats = new StatsCounter();
  readonly #connections = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #cache = new Map<string, Map<number, CachedAnswer>>();
  /** Cache mode: what a caching resolver in front of the zone would hold. */
  readonly #resolverCache: AnswerCache | undefined;
  #soa: { version: number; record: Buffer } | undefined;
  #closing: Promise<void> | undefined;

  private constructor(settings: Settings, model: ClusterZone, udp: dgram.Socket, tcp: Server, port: number) {
    this.#settings = settings;
    this.#faults = settings.faults;
    this.model = model;
    this.#udp = udp;
    this.#tcp = tcp;
    this.address = Object.freeze({ host: settings.host, port });
    this.#resolverCache =
      settings.cacheSeconds > 0
        ? new AnswerCache({
            positiveSeconds: settings.cacheSeconds,
            negativeSeconds: settings.negativeCacheSeconds,
          })
        : undefined;
    udp.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo));
    udp.on('error', () => {
      // A failed send (e.g. ICMP unreachable surfacing as ECONNREFUSED) must not take the server down.
    });
    tcp.on('connection', (socket) => this.#onConnection(socket));
    tcp.on('error', () => {});
  }

  /** Start listening on UDP and TCP (same port). Throws UsageError for bad options. */
  static async start(options: ClusterDnsServerOptions = {}): Promise<ClusterDnsServer> {
    const settings = normalizeOptions(options);
    const model = new ClusterZone({
      zone: settings.zone,
      ttl: settings.ttl,
      now: settings.now,
      nameserverAddress: settings.host,
      linger: { staleForMs: settings.faults.staleForMs, restartOverlapMs: settings.faults.restartOverlapMs },
    });
    const { udp, tcp, port } = await bindBoth(settings.host, settings.port);
    return new ClusterDnsServer(settings, model, udp, tcp, port);
  }

  /** The zone (cluster domain), lower case, no trailing dot. */
  get zone(): string {
    return this.model.zone;
  }

  /** The fault knobs in force. */
  get faults(): DnsFaults {
    return this.#faults;
  }

  /** Change some fault knobs; the others keep their values. */
  setFaults(partial: Partial<DnsFaults>): void {
    const next = mergeFaults(this.#faults, partial);
    this.model.setLinger({ staleForMs: next.staleForMs, restartOverlapMs: next.restartOverlapMs });
    this.#faults = next;
  }

  /** Create or replace a headless Service. */
  addService(spec: ServiceSpec): void {
    this.model.addService(spec);
  }

  /** Delete a Service. False when there was none. */
  removeService(ref: ServiceRef): boolean {
    return this.model.removeService(ref);
  }

  /** Create or update a pod (its record follows readiness, the Service and publishNotReadyAddresses). */
  setPod(spec: PodSpec): void {
    this.model.setPod(spec);
  }

  /** Delete a pod (its addresses linger for `staleForMs`). False when there was none. */
  removePod(ref: PodRef): boolean {
    return this.model.removePod(ref);
  }

  /** `<hostname>.<subdomain>.<ns>.svc.<zone>` (no trailing dot). */
  podFqdn(ref: PodRef): string {
    return this.model.podFqdn(ref);
  }

  /** `<svc>.<ns>.svc.<zone>` (no trailing dot). */
  serviceFqdn(ref: ServiceRef): string {
    return this.model.serviceFqdn(ref);
  }

  /** A copy of the counters. */
  stats(): DnsServerStats {
    return this.#stats.snapshot();
  }

  /** Zero every counter. */
  resetStats(): void {
    this.#stats.reset();
  }

  /** The cache caps in seconds, or undefined without cache mode. */
  get cache(): { readonly positiveSeconds: number; readonly negativeSeconds: number } | undefined {
    return this.#resolverCache?.caps;
  }

  /** Cache mode: forget every cached answer, as a restarted cache would. No-op without cache mode. */
  flushCache(): void {
    this.#resolverCache?.clear();
  }

  /** Close both sockets, every TCP connection and every pending delayed answer. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const socket of this.#connections) socket.destroy();
    this.#connections.clear();
    this.#closing = Promise.all([
      new Promise<void>((resolve) => this.#udp.close(() => resolve())),
      new Promise<void>((resolve) => this.#tcp.close(() => resolve())),
    ]).then(() => undefined);
    return this.#closing;
  }

  #onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.#closing !== undefined) return;
    if (rinfo.port === 0) return;
    this.#handle(msg, false, (out) => {
      if (this.#closing === undefined) this.#udp.send(out, rinfo.port, rinfo.address);
    });
  }

  #onConnection(socket: Socket): void {
    if (this.#closing !== undefined || this.#connections.size >= this.#settings.maxTcpConnections) {
      this.#stats.bump('tcpRejected');
      socket.destroy();
      return;
    }
    this.#stats.bump('tcpConnections');
    this.#connections.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.#settings.tcpIdleTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#connections.delete(socket));
    const send = (out: Buffer) => {
      if (socket.destroyed || !socket.writable) return;
      // A client that pipelines queries but never reads would make us buffer without bound.
      if (socket.writableLength > MAX_TCP_BACKLOG) socket.destroy();
      else socket.write(out);
    };
    // Chunks of an incomplete message are kept apart and joined once the whole message is there, so a
    // message trickling in byte by byte costs one copy, not one per byte.
    let chunks: Buffer[] = [];
    let buffered = 0;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      buffered += chunk.length;
      if (buffered < 2) return;
      if (chunks[0]!.length < 2) chunks = [Buffer.concat(chunks, buffered)];
      if (buffered < 2 + chunks[0]!.readUInt16BE(0)) return;
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
      let offset = 0;
      // Answers to the queries of one read leave in one write.
      socket.cork();
      while (buf.length - offset >= 2) {
        const length = buf.readUInt16BE(offset);
        if (buf.length - offset - 2 < length) break;
        const message = buf.subarray(offset + 2, offset + 2 + length);
        offset += 2 + length;
        if (!this.#handle(message, true, send)) {
          socket.uncork();
          socket.destroy();
          return;
        }
      }
      socket.uncork();
      chunks = offset < buf.length ? [Buffer.from(buf.subarray(offset))] : [];
      buffered = buf.length - offset;
    });
  }

  /** Answer one message; false when it could not be parsed. */
  #handle(msg: Buffer, tcp: boolean, send: (out: Buffer) => void): boolean {
    const stats = this.#stats;
    const query = parseQuery(msg);
    if (query === undefined) {
      stats.bump('malformed');
      return false;
    }
    const faults = this.#faults;
    let answer: EncodedAnswer;
    let cached = false;
    if (query.qdcount !== 1) {
      answer = emptyAnswer(RCODE.FORMERR);
    } else {
      stats.query(query.name, query.qtype, tcp);
      if (query.opcode !== 0) {
        answer = emptyAnswer(RCODE.NOTIMP);
      } else if (query.edns !== undefined && query.edns.version > 0) {
        answer = emptyAnswer(RCODE.BADVERS);
      } else if (faults.dropRatio > 0 && this.#settings.random() < faults.dropRatio) {
        stats.bump('dropped');
        this.#report(query, tcp, undefined, 0, false, 0, false);
        return true;
      } else if (faults.servfailRatio > 0 && this.#settings.random() < faults.servfailRatio) {
        stats.bump('servfailInjected');
        answer = emptyAnswer(RCODE.SERVFAIL);
      } else if (this.#resolverCache === undefined || query.ambiguous) {
        answer = this.#answer(query, msg);
      } else {
        const now = this.#settings.now();
        const hit = this.#resolverCache.get(query.name, query.qtype, now);
        if (hit !== undefined) {
          stats.bump('cacheHits');
          answer = hit;
          cached = true;
        } else {
          stats.bump('cacheMisses');
          answer = this.#answer(query, msg);
          // As CoreDNS, the first answer already carries the capped TTL (no 1800 → 30 jump on the next).
          if (this.#resolverCache.put(query.name, query.qtype, answer, now) > 0) {
            answer = this.#resolverCache.get(query.name, query.qtype, now) ?? answer;
          }
        }
      }
    }
    let limit = MAX_TCP_MESSAGE;
    if (!tcp) {
      const advertised = query.edns?.udpPayloadSize ?? CLASSIC_UDP_LIMIT;
      limit = Math.min(Math.max(advertised, CLASSIC_UDP_LIMIT), this.#settings.maxUdpPayload);
    }
    const written = writeResponse(query, msg, answer, limit, tcp);
    if (written.truncated) stats.bump('truncated');
    const rcodeName = RCODE_NAMES[answer.rcode] ?? 'NOERROR';
    stats.response(rcodeName);
    const delay = faults.delayMs > 0 || faults.delays.length > 0 ? delayFor(faults, query.name) : 0;
    this.#report(query, tcp, rcodeName, written.answerCount, written.truncated, delay, cached);
    if (delay <= 0) {
      send(written.message);
      return true;
    }
    stats.bump('delayed');
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      send(written.message);
    }, delay);
    this.#timers.add(timer);
    return true;
  }

  #report(
    query: ParsedQuery,
    tcp: boolean,
    rcode: RcodeName | undefined,
    answers: number,
    truncated: boolean,
    delayMs: number,
    cached: boolean,
  ): void {
    const onQuery = this.#settings.onQuery;
    if (onQuery === undefined || query.qdcount !== 1) return;
    const type = zoneQueryType(query.qtype);
    onQuery({
      name: query.name,
      type: type === 'OTHER' ? `TYPE${query.qtype}` : type,
      transport: tcp ? 'tcp' : 'udp',
      rcode,
      answers,
      truncated,
      delayMs,
      cached,
    });
  }

  /** The encoded answer from the model, cached per name and type until the model changes. */
  #answer(query: ParsedQuery, msg: Buffer): EncodedAnswer {
    const model = this.model;
    if (query.qclass !== CLASS_IN && query.qclass !== 255) return emptyAnswer(RCODE.REFUSED);
    if (query.ambiguous) {
      // A label with a dot in it: no record has one, so inside the zone it is NXDOMAIN.
      const labels = questionLabels(msg);
      const zoneLabels = model.zone.split('.');
      const inZone = zoneLabels.every((l, i) => labels[labels.length - zoneLabels.length + i] === l);
      return inZone
        ? this.#encode(model.resolveNormalized(model.zone, 'OTHER'), true)
        : emptyAnswer(RCODE.REFUSED);
    }
    if (query.qtype === TYPE_AXFR || query.qtype === TYPE_IXFR) return emptyAnswer(RCODE.REFUSED);
    const name = query.name;
    const byType = this.#cache.get(name);
    const cached = byType?.get(query.qtype);
    if (
      cached !== undefined &&
      cached.version === model.version &&
      cached.validUntil > this.#settings.now()
    ) {
      return cached;
    }
    const result = model.resolveNormalized(name, zoneQueryType(query.qtype));
    if (result.rcode === 'REFUSED') return emptyAnswer(RCODE.REFUSED);
    const encoded = this.#encode(result, false);
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    let slot = this.#cache.get(name);
    if (slot === undefined) {
      slot = new Map();
      this.#cache.set(name, slot);
    }
    slot.set(query.qtype, encoded);
    return encoded;
  }

  #encode(result: ZoneAnswer, nxdomain: boolean): CachedAnswer {
    return {
      rcode: nxdomain ? RCODE.NXDOMAIN : RCODE[result.rcode],
      authoritative: result.authoritative,
      answers: result.answers.map((r) => encodeRecord(r, true)),
      authority: result.authority.map((r) => (r.type === 'SOA' ? this.#soaRecord() : encodeRecord(r, false))),
      additional: result.additional.map((r) => encodeRecord(r, false)),
      version: result.version,
      validUntil: result.validUntil,
    };
  }

  #soaRecord(): Buffer {
    const version = this.model.version;
    if (this.#soa === undefined || this.#soa.version !== version) {
      this.#soa = { version, record: encodeRecord(this.model.soa(), false) };
    }
    return this.#soa.record;
  }
}

function normalizeOptions(options: ClusterDnsServerOptions): Settings {
  if (options === null || typeof options !== 'object') {
    throw new UsageError(`DNS server options ${quote(options)} must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(
        `unknown DNS server option ${quote(key)}: expected one of ${OPTION_KEYS.join(', ')}`,
      );
    }
  }
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || ipFamily(host) === 0) {
    throw new UsageError(
      `DNS server host ${quote(host)} is invalid: expected an IP address such as 127.0.0.1`,
    );
  }
  const port = options.port ?? 0;
  const integer = (what: string, value: unknown, min: number, max: number): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new UsageError(
        `DNS server ${what} ${quote(value)} is invalid: expected an integer ${min}–${max}`,
      );
    }
    return value;
  };
  const fn = <T>(what: string, value: T | undefined, fallback: T): T => {
    if (value === undefined) return fallback;
    if (typeof value !== 'function')
      throw new UsageError(`DNS server ${what} ${quote(value)} must be a function`);
    return value;
  };
  return {
    host,
    port: integer('port', port, 0, 65_535),
    zone: options.zone,
    ttl: options.ttl,
    faults: mergeFaults(NO_FAULTS, options.faults ?? {}),
    random: fn('random', options.random, Math.random),
    now: fn('now', options.now, Date.now),
    onQuery: options.onQuery === undefined ? undefined : fn('onQuery', options.onQuery, () => {}),
    tcpIdleTimeoutMs: integer('tcpIdleTimeoutMs', options.tcpIdleTimeoutMs ?? 10_000, 1, 2_147_483_647),
    maxTcpConnections: integer('maxTcpConnections', options.maxTcpConnections ?? 1024, 1, 1_000_000),
    maxUdpPayload: integer('maxUdpPayload', options.maxUdpPayload ?? 4096, CLASSIC_UDP_LIMIT, 65_507),
    cacheSeconds: integer('cacheSeconds', options.cacheSeconds ?? 0, 0, MAX_CACHE_SECONDS),
    negativeCacheSeconds: integer(
      'negativeCacheSeconds',
      options.negativeCacheSeconds ?? options.cacheSeconds ?? 0,
      0,
      MAX_CACHE_SECONDS,
    ),
  };
}

/** Bind UDP, then TCP on the same port; with port 0 retry when TCP finds the port taken. */
async function bindBoth(
  host: string,
  port: number,
): Promise<{ udp: dgram.Socket; tcp: Server; port: number }> {
  const type = ipFamily(host) === 6 ? 'udp6' : 'udp4';
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket({ type });
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        udp.close();
        reject(error);
      };
      udp.once('error', fail);
      udp.bind(port, host, () => {
        udp.off('error', fail);
        resolve();
      });
    });
    try {
      // Room for bursts (1024 agents asking at once); the kernel caps it at rmem_max.
      udp.setRecvBufferSize(4 * 1024 * 1024);
      udp.setSendBufferSize(4 * 1024 * 1024);
    } catch {
      // Best effort only.
    }
    const actual = udp.address().port;
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ port: actual, host, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port: actual };
    } catch (error) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      const code = (error as NodeJS.ErrnoException).code;
      if (port !== 0 || code !== 'EADDRINUSE' || attempt >= BIND_ATTEMPTS) throw error;
    }
  }
}
