// Query counters of the test DNS server: by name and type (benchmarks read them), by rcode, by fault.

/** Queries per record type. */
export interface QueryTypeCounts {
  A: number;
  AAAA: number;
  SRV: number;
  other: number;
}

/** A snapshot of the server's counters (a copy: later queries do not change it). */
export interface DnsServerStats {
  /** Queries with a parsable question (malformed packets are counted in `malformed` only). */
  readonly total: number;
  readonly udp: number;
  readonly tcp: number;
  readonly byType: Readonly<QueryTypeCounts>;
  /** Keyed by the lower-case name without the trailing dot, e.g. `job-0.svc.default.svc.cluster.local`. */
  readonly byName: Map<string, QueryTypeCounts>;
  /** Responses sent, by rcode name (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, NOTIMP, FORMERR, BADVERS). */
  readonly byRcode: Readonly<Record<string, number>>;
  /** Queries not answered because of `dropRatio`. */
  readonly dropped: number;
  /** SERVFAIL answers caused by `servfailRatio`. */
  readonly servfailInjected: number;
  /** Responses held back by a delay fault. */
  readonly delayed: number;
  /** UDP responses sent with TC=1. */
  readonly truncated: number;
  /** Packets ignored (UDP) or that closed their connection (TCP) because they could not be parsed. */
  readonly malformed: number;
  /** TCP connections accepted, and refused because `maxTcpConnections` were open. */
  readonly tcpConnections: number;
  readonly tcpRejected: number;
  /** Cache mode only: queries answered from the cache, and those that went to the zone. */
  readonly cacheHits: number;
  readonly cacheMisses: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const newCounts = (): QueryTypeCounts => ({ A: 0, AAAA: 0, SRV: 0, other: 0 });

/** The live counters behind {@link DnsServerStats}. */
export class StatsCounter {
  #s: Mutable<Omit<DnsServerStats, 'byType' | 'byName' | 'byRcode'>> = StatsCounter.#zero();
  #byType = newCounts();
  #byName = new Map<string, QueryTypeCounts>();
  #byRcode: Record<string, number> = {};

  static #zero() {
    return {
      total: 0,
      udp: 0,
      tcp: 0,
      dropped: 0,
      servfailInjected: 0,
      delayed: 0,
      truncated: 0,
      malformed: 0,
      tcpConnections: 0,
      tcpRejected: 0,
      cacheHits: 0,
      cacheMisses: 0,
    };
  }

  /** Count one query for `name` (lower case) of wire type `qtype`. */
  query(name: string, qtype: number, tcp: boolean): void {
    const s = this.#s;
    s.total++;
    if (tcp) s.tcp++;
    else s.udp++;
    let counts = this.#byName.get(name);
    if (counts === undefined) {
      counts = newCounts();
      this.#byName.set(name, counts);
    }
    const key: keyof QueryTypeCounts =
      qtype === 1 ? 'A' : qtype === 28 ? 'AAAA' : qtype === 33 ? 'SRV' : 'other';
    counts[key]++;
    this.#byType[key]++;
  }

  /** Count one response sent with `rcode`. */
  response(rcode: string): void {
    this.#byRcode[rcode] = (this.#byRcode[rcode] ?? 0) + 1;
  }

  /** Count one event of a kind. */
  bump(
    kind:
      | 'dropped'
      | 'servfailInjected'
      | 'delayed'
      | 'truncated'
      | 'malformed'
      | 'tcpConnections'
      | 'tcpRejected'
      | 'cacheHits'
      | 'cacheMisses',
  ): void {
    this.#s[kind]++;
  }

  /** A deep copy of the counters. */
  snapshot(): DnsServerStats {
    const byName = new Map<string, QueryTypeCounts>();
    for (const [name, counts] of this.#byName) byName.set(name, { ...counts });
    return { ...this.#s, byType: { ...this.#byType }, byName, byRcode: { ...this.#byRcode } };
  }

  /** Back to zero. */
  reset(): void {
    this.#s = StatsCounter.#zero();
    this.#byType = newCounts();
    this.#byName = new Map();
    this.#byRcode = {};
  }
}
