// Turn an accepted DNS response into the DnsResult the rest of the package reads.
import { absoluteName, canonicalName } from './packet.js';
import type { DnsRecord, DnsResult, QueryType, ServerLabel } from './types.js';

/** One resource record as either decoder gives it (dns-packet's Answer fits this shape). */
export interface WireRecord {
  readonly name: string;
  readonly type: string;
  readonly ttl?: number | undefined;
  readonly data?: unknown;
}

/** What the classification reads from a response (dns-packet's decoded packet fits this shape). */
export interface ResponseView {
  readonly rcode: string;
  readonly flag_aa: boolean;
  readonly answers: readonly WireRecord[];
  readonly authorities: readonly WireRecord[];
  readonly additionals: readonly WireRecord[];
}

/** Where a response came from and how long it took. */
export interface ResponseMeta {
  readonly server: ServerLabel;
  readonly transport: 'udp' | 'tcp';
  readonly elapsedMs: number;
}

/** Longest CNAME chain followed inside one answer section. */
const MAX_CNAME_HOPS = 16;

/** Classify a response that already matched our question (see answersQuestion). */
export function classifyResponse(
  packet: ResponseView,
  name: string,
  type: QueryType,
  meta: ResponseMeta,
): DnsResult {
  const { server, transport, elapsedMs } = meta;
  // NXDOMAIN and NODATA carry the same negative-caching facts, from the SOA in the authority section.
  const negative = (kind: 'nxdomain' | 'nodata', cnameLoop?: string[]): DnsResult => ({
    kind,
    name,
    type,
    server,
    transport,
    elapsedMs,
    negativeTtl: negativeTtl(packet),
    soaMinimum: soaMinimum(packet),
    authoritative: packet.flag_aa,
    ...(cnameLoop === undefined ? {} : { cnameLoop }),
  });
  switch (packet.rcode) {
    case 'NOERROR': {
      const { records, cnameLoop } = followChain(packet.answers, name, type);
      if (records.length === 0) return negative('nodata', cnameLoop);
      return {
        kind: 'records',
        name,
        type,
        server,
        transport,
        elapsedMs,
        records,
        additional: addressRecords(packet.additionals),
        ttl: smallestTtl(records),
        authoritative: packet.flag_aa,
      };
    }
    case 'NXDOMAIN':
      return negative('nxdomain');
    case 'SERVFAIL':
      return { kind: 'servfail', name, type, server, transport, elapsedMs, rcode: packet.rcode };
    case 'REFUSED':
      return { kind: 'refused', name, type, server, transport, elapsedMs, rcode: packet.rcode };
    default:
      return { kind: 'error', name, type, server, transport, elapsedMs, rcode: packet.rcode };
  }
}

/** Records of `type` owned by `name` or by the end of a CNAME chain starting at it, within `answers`. */
export function recordsFor(answers: readonly WireRecord[], name: string, type: QueryType): DnsRecord[] {
  return followChain(answers, name, type).records;
}

/**
 * Follow `name`'s CNAME chain inside `answers` to the records of `type`. `cnameLoop` is set (the names in
 * order, the repeated one last: `a. → b. → a.`) when the chain comes back to a name it passed, or is longer
 * than MAX_CNAME_HOPS: no record can ever be found, which is not the same as a name without records (NODATA).
 */
export function followChain(
  answers: readonly WireRecord[],
  name: string,
  type: QueryType,
): { records: DnsRecord[]; cnameLoop?: string[] } {
  let owner = canonicalName(name);
  const chain = [absoluteName(name)];
  const seen = new Set<string>([owner]);
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const found: DnsRecord[] = [];
    let cname: string | undefined;
    let target: string | undefined;
    for (const answer of answers) {
      if (typeof answer.name !== 'string' || canonicalName(answer.name) !== owner) continue;
      if (answer.type === type) {
        const record = toRecord(answer);
        if (record) found.push(record);
      } else if (answer.type === 'CNAME' && cname === undefined && typeof answer.data === 'string') {
        cname = canonicalName(answer.data);
        target = absoluteName(answer.data);
      }
    }
    if (found.length > 0 || cname === undefined) return { records: found };
    chain.push(target!);
    if (seen.has(cname)) return { records: [], cnameLoop: chain };
    seen.add(cname);
    owner = cname;
  }
  return { records: [], cnameLoop: chain };
}

/** A/AAAA records of a section (the Additional section's SRV target addresses). */
export function addressRecords(section: readonly WireRecord[]): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (const answer of section) {
    if (answer.type !== 'A' && answer.type !== 'AAAA') continue;
    const record = toRecord(answer);
    if (record) out.push(record);
  }
  return out;
}

/** RFC 2308: the negative TTL is min(SOA TTL, SOA MINIMUM) of the Authority SOA; undefined without one. */
export function negativeTtl(packet: ResponseView): number | undefined {
  for (const rr of packet.authorities) {
    if (rr.type === 'SOA' && typeof rr.data === 'object' && rr.data !== null) {
      const ttl = rr.ttl ?? 0;
      const minimum = (rr.data as { minimum?: unknown }).minimum;
      return typeof minimum === 'number' ? Math.min(ttl, minimum) : ttl;
    }
  }
  return undefined;
}

/** The Authority SOA's MINIMUM field; undefined without one. */
export function soaMinimum(packet: ResponseView): number | undefined {
  for (const rr of packet.authorities) {
    if (rr.type === 'SOA' && typeof rr.data === 'object' && rr.data !== null) {
      const minimum = (rr.data as { minimum?: unknown }).minimum;
      return typeof minimum === 'number' ? minimum : undefined;
    }
  }
  return undefined;
}

function smallestTtl(records: readonly DnsRecord[]): number {
  let ttl = records[0]!.ttl;
  for (const r of records) if (r.ttl < ttl) ttl = r.ttl;
  return ttl;
}

function toRecord(answer: WireRecord): DnsRecord | undefined {
  if (typeof answer.name !== 'string') return undefined;
  const name = absoluteName(answer.name);
  const ttl = answer.ttl ?? 0;
  if ((answer.type === 'A' || answer.type === 'AAAA') && typeof answer.data === 'string') {
    return { type: answer.type, name, ttl, address: answer.data };
  }
  if (answer.type === 'SRV' && typeof answer.data === 'object' && answer.data !== null) {
    const d = answer.data as { priority?: number; weight?: number; port: number; target: string };
    if (typeof d.port !== 'number' || typeof d.target !== 'string') return undefined;
    return {
      type: 'SRV',
      name,
      ttl,
      priority: d.priority ?? 0,
      weight: d.weight ?? 0,
      port: d.port,
      target: absoluteName(d.target),
    };
  }
  return undefined;
}
