// The options of ClusterDnsServer.start, checked and defaulted in one place (unknown keys are errors).
import { quote, UsageError } from '../errors.js';
import { ipFamily } from './ip-bytes.js';
import { type DnsFaults, mergeFaults, NO_FAULTS } from './server-faults.js';
import { CLASSIC_UDP_LIMIT } from './server-wire.js';
import type { RcodeName } from './types.js';

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

/** The options after checks and defaults. */
export interface Settings {
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
/** Longest cache cap (one day; CoreDNS' own default caps are 3600 and 1800). */
const MAX_CACHE_SECONDS = 86_400;

/** Check every option of {@link ClusterDnsServerOptions} and fill in the defaults. */
export function normalizeOptions(options: ClusterDnsServerOptions): Settings {
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
