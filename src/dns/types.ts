// The DNS contract the rest of the package codes against: what a query returns, classified.

/**
 * A private-use type (RFC 6895: 65280–65534) in RFC 3597 notation, `TYPE65280`. Nothing has records of it: a
 * question for it is answered NODATA when the name exists and NXDOMAIN when it does not, and a cache keeps that
 * answer under this type only (CoreDNS' cache keys on name and type) — the agent's existence probe
 * (ARCHITECTURE.md, "Never poison a name").
 */
export type PrivateType = `TYPE${number}`;

/** First and last private-use type (RFC 6895 §3.1). */
export const PRIVATE_TYPE_FIRST = 65_280;
export const PRIVATE_TYPE_LAST = 65_534;

/** Record types the stub resolver asks for. */
export type QueryType = 'A' | 'AAAA' | 'SRV' | PrivateType;

/** The numeric type of a private-use `TYPEnnnnn`, or undefined for anything else. */
export function privateTypeCode(type: string): number | undefined {
  if (!/^TYPE\d{5}$/.test(type)) return undefined;
  const code = Number(type.slice(4));
  return code >= PRIVATE_TYPE_FIRST && code <= PRIVATE_TYPE_LAST ? code : undefined;
}

/** A DNS server to ask: an IP literal and a port. */
export interface DnsServerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Numeric header rcodes, shared by the client (encoding test answers) and the server. BADVERS (16) only
 * exists with EDNS: its upper bits travel in the OPT record's TTL.
 */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;
export type RcodeName = keyof typeof RCODE;

/** One answer record, reduced to what the agent uses. */
export type DnsRecord =
  | { readonly type: 'A' | 'AAAA'; readonly name: string; readonly ttl: number; readonly address: string }
  | {
      readonly type: 'SRV';
      readonly name: string;
      readonly ttl: number;
      readonly priority: number;
      readonly weight: number;
      readonly port: number;
      readonly target: string;
    };

/** Which server answered (or was tried), as `host:port` / `[v6]:port`. */
export type ServerLabel = string;

/**
 * A classified query result. Never thrown: only bad input (a relative name, a bad type) and an abort throw.
 * - `records`: NOERROR with at least one record of the asked type (CNAME chains followed within the answer).
 * - `nxdomain` / `nodata`: negative answers; `negativeTtl` = min(SOA TTL, SOA MINIMUM) when an SOA came.
 * - `servfail` / `refused` / `error`: the server answered with that rcode (`error` for any other rcode).
 * - `timeout`: no acceptable answer from any server within the attempts.
 */
export type DnsResult =
  | {
      readonly kind: 'records';
      readonly name: string;
      readonly type: QueryType;
      readonly records: readonly DnsRecord[];
      /** Additional-section A/AAAA records (SRV targets), if any. */
      readonly additional: readonly DnsRecord[];
      /** Smallest TTL of the records. */
      readonly ttl: number;
      readonly authoritative: boolean;
      readonly server: ServerLabel;
      readonly transport: 'udp' | 'tcp';
      readonly elapsedMs: number;
    }
  | {
      readonly kind: 'nxdomain' | 'nodata';
      readonly name: string;
      readonly type: QueryType;
      readonly negativeTtl: number | undefined;
      /** The SOA's MINIMUM field, when an SOA came (the negative TTL the zone asks for; caches count down from it). */
      readonly soaMinimum?: number | undefined;
      readonly authoritative: boolean;
      /** NODATA because the answer's CNAME chain loops (or is too long): the names, the repeated one last. */
      readonly cnameLoop?: readonly string[];
      readonly server: ServerLabel;
      readonly transport: 'udp' | 'tcp';
      readonly elapsedMs: number;
    }
  | {
      readonly kind: 'servfail' | 'refused' | 'error';
      readonly name: string;
      readonly type: QueryType;
      /** The rcode as dns-packet names it (e.g. 'SERVFAIL', 'NOTIMP'). */
      readonly rcode: string;
      readonly server: ServerLabel;
      readonly transport: 'udp' | 'tcp';
      readonly elapsedMs: number;
    }
  | {
      readonly kind: 'timeout';
      readonly name: string;
      readonly type: QueryType;
      /** Every server tried, in order. */
      readonly servers: readonly ServerLabel[];
      readonly elapsedMs: number;
      /** The last transport error seen instead of an answer (e.g. 'ECONNREFUSED'), if any. */
      readonly reason?: string;
    };

/** What the rendezvous needs from a resolver: one classified query. Tests and the simulation pass the real client. */
export interface Resolver {
  query(name: string, type: QueryType, options?: { signal?: AbortSignal }): Promise<DnsResult>;
  /** Release sockets and timers. Queries after close reject. */
  close(): Promise<void> | void;
}
