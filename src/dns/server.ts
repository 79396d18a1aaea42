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
// denial for min(SOA TTL, SOA MINIMUM, negative cap), whatever the zone does meanwhile, TTLs counting down.//
// Files: options (server-options.ts), sockets and TCP framing (server-transport.ts), answers from the zone
// (server-answer.ts), wire codec (server-wire.ts), cache mode, faults and counters (server-cache/-faults/-stats).
import type dgram from 'node:dgram';
import type { Server, Socket } from 'node:net';
import { ZoneAnswerer } from './server-answer.js';
import { AnswerCache } from './server-cache.js';
import { type DnsFaults, delayFor, mergeFaults } from './server-faults.js';
import { type ClusterDnsServerOptions, normalizeOptions, type Settings } from './server-options.js';
import { type DnsServerStats, StatsCounter } from './server-stats.js';
import { bindBoth, frameTcpMessages } from './server-transport.js';
import {
  CLASSIC_UDP_LIMIT,
  type EncodedAnswer,
  emptyAnswer,
  MAX_TCP_MESSAGE,
  type ParsedQuery,
  parseQuery,
  writeResponse,
  zoneQueryType,
} from './server-wire.js';
import { type DnsServerAddress, RCODE, type RcodeName } from './types.js';
import { ClusterZone } from './zone.js';
import type { PodRef, PodSpec, ServiceRef, ServiceSpec } from './zone-types.js';

export type { DnsFaults, NameDelay } from './server-faults.js';
export type { ClusterDnsServerOptions, DnsQueryEvent } from './server-options.js';
export type { DnsServerStats, QueryTypeCounts } from './server-stats.js';
export type { PodRef, PodSpec, ServicePortSpec, ServiceRef, ServiceSpec } from './zone-types.js';

const RCODE_NAMES: Record<number, RcodeName> = Object.fromEntries(
  Object.entries(RCODE).map(([name, code]) => [code, name as RcodeName]),
);

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
  /** Cache mode: what a caching resolver in front of the zone would hold. */
  readonly #resolverCache: AnswerCache | undefined;
  /** The zone's encoded answers. */
  readonly #answerer: ZoneAnswerer;
  #closing: Promise<void> | undefined;

  private constructor(settings: Settings, model: ClusterZone, udp: dgram.Socket, tcp: Server, port: number) {
    this.#settings = settings;
    this.#faults = settings.faults;
    this.model = model;
    this.#answerer = new ZoneAnswerer(model, settings.now);
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
    frameTcpMessages(socket, (message, send) => this.#handle(message, true, send));
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
        answer = this.#answerer.answer(query, msg);
      } else {
        const now = this.#settings.now();
        const hit = this.#resolverCache.get(query.name, query.qtype, now);
        if (hit !== undefined) {
          stats.bump('cacheHits');
          answer = hit;
          cached = true;
        } else {
          stats.bump('cacheMisses');
          answer = this.#answerer.answer(query, msg);
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
}
