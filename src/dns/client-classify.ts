// Turn an accepted DNS response into the DnsResult the rest of the package reads.
import type dnsPacket from 'dns-packet';
import { absoluteName, canonicalName, type DecodedDnsPacket } from './packet.js';
import type { DnsRecord, DnsResult, QueryType, ServerLabel } from './types.js';

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
  packet: DecodedDnsPacket,
  name: string,
  type: QueryType,
  meta: ResponseMeta,
): DnsResult {
  const base = { name, type, ...meta };
  switch (packet.rcode) {
    case 'NOERROR': {
      const records = recordsFor(packet.answers, name, type);
      if (records.length === 0) {
        return {
          kind: 'nodata',
          ...base,
          negativeTtl: negativeTtl(packet),
          authoritative: packet.flag_aa,
        };
      }
      return {
        kind: 'records',
        ...base,
        records,
        additional: addressRecords(packet.additionals),
        ttl: Math.min(...records.map((r) => r.ttl)),
        authoritative: packet.flag_aa,
      };
    }
    case 'NXDOMAIN':
      return { kind: 'nxdomain', ...base, negativeTtl: negativeTtl(packet), authoritative: packet.flag_aa };
    case 'SERVFAIL':
      return { kind: 'servfail', ...base, rcode: packet.rcode };
    case 'REFUSED':
      return { kind: 'refused', ...base, rcode: packet.rcode };
    default:
      return { kind: 'error', ...base, rcode: packet.rcode };
  }
}

/** Records of `type` owned by `name` or by the end of a CNAME chain starting at it, within `answers`. */
export function recordsFor(answers: readonly dnsPacket.Answer[], name: string, type: QueryType): DnsRecord[] {
  let owner = canonicalName(name);
  const seen = new Set<string>([owner]);
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const found: DnsRecord[] = [];
    let cname: string | undefined;
    for (const answer of answers) {
      if (typeof answer.name !== 'string' || canonicalName(answer.name) !== owner) continue;
      if (answer.type === type) {
        const record = toRecord(answer);
        if (record) found.push(record);
      } else if (answer.type === 'CNAME' && cname === undefined && typeof answer.data === 'string') {
        cname = canonicalName(answer.data);
      }
    }
    if (found.length > 0 || cname === undefined || seen.has(cname)) return found;
    seen.add(cname);
    owner = cname;
  }
  return [];
}

/** A/AAAA records of a section (the Additional section's SRV target addresses). */
export function addressRecords(section: readonly dnsPacket.Answer[]): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (const answer of section) {
    if (answer.type !== 'A' && answer.type !== 'AAAA') continue;
    const record = toRecord(answer);
    if (record) out.push(record);
  }
  return out;
}

/** RFC 2308: the negative TTL is min(SOA TTL, SOA MINIMUM) of the Authority SOA; undefined without one. */
export function negativeTtl(packet: DecodedDnsPacket): number | undefined {
  for (const rr of packet.authorities) {
    if (rr.type === 'SOA' && typeof rr.data === 'object' && rr.data !== null) {
      const ttl = rr.ttl ?? 0;
      const minimum = rr.data.minimum;
      return typeof minimum === 'number' ? Math.min(ttl, minimum) : ttl;
    }
  }
  return undefined;
}

function toRecord(answer: dnsPacket.Answer): DnsRecord | undefined {
  if (answer.type === 'OPT') return undefined;
  const name = absoluteName(answer.name);
  const ttl = answer.ttl ?? 0;
  if ((answer.type === 'A' || answer.type === 'AAAA') && typeof answer.data === 'string') {
    return { type: answer.type, name, ttl, address: answer.data };
  }
  if (answer.type === 'SRV' && typeof answer.data === 'object' && answer.data !== null) {
    const d = answer.data;
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
