// Building the zone's answers: the SOA, REFUSED / positive / negative answers, A/AAAA and SRV record lists.
import type { Published, ServicePortState } from './zone-state.js';
import type { ZoneAnswer, ZoneQueryType, ZoneRecord } from './zone-types.js';

/** CoreDNS' SOA timers (plugin/kubernetes, `Serial` aside). */
const SOA_REFRESH = 7200;
const SOA_RETRY = 1800;
const SOA_EXPIRE = 86_400;
/** A frozen empty record list, shared by every answer section that has nothing. */
export const EMPTY: readonly ZoneRecord[] = Object.freeze([]);

/** The zone's SOA record (TTL min(ttl, 300), MINIMUM = ttl). */
export function soaRecord(zone: string, ttl: number, serial: number): ZoneRecord {
  return {
    type: 'SOA',
    name: zone,
    ttl: Math.min(ttl, 300),
    mname: `ns.dns.${zone}`,
    rname: `hostmaster.${zone}`,
    serial,
    refresh: SOA_REFRESH,
    retry: SOA_RETRY,
    expire: SOA_EXPIRE,
    minimum: ttl,
  };
}

/** A name outside the zone: REFUSED, not authoritative. */
export function refusedAnswer(version: number): ZoneAnswer {
  return {
    rcode: 'REFUSED',
    authoritative: false,
    answers: EMPTY,
    authority: EMPTY,
    additional: EMPTY,
    version,
    validUntil: Number.POSITIVE_INFINITY,
  };
}

/** NOERROR with records. */
export function positiveAnswer(
  answers: readonly ZoneRecord[],
  additional: readonly ZoneRecord[],
  version: number,
  validUntil: number,
): ZoneAnswer {
  return {
    rcode: 'NOERROR',
    authoritative: true,
    answers,
    authority: EMPTY,
    additional,
    version,
    validUntil,
  };
}

/** NXDOMAIN or NODATA, with the zone SOA in Authority. */
export function negativeAnswer(
  nxdomain: boolean,
  soa: ZoneRecord,
  version: number,
  validUntil: number,
): ZoneAnswer {
  return {
    rcode: nxdomain ? 'NXDOMAIN' : 'NOERROR',
    authoritative: true,
    answers: EMPTY,
    authority: [soa],
    additional: EMPTY,
    version,
    validUntil,
  };
}

/** The A and/or AAAA records of published addresses that a question of `type` asks for. */
export function addressRecords(
  name: string,
  type: ZoneQueryType,
  published: Published,
  ttl: number,
): ZoneRecord[] {
  const records: ZoneRecord[] = [];
  if (type === 'A' || type === 'ANY') {
    for (const address of published.v4) records.push({ type: 'A', name, ttl, address });
  }
  if (type === 'AAAA' || type === 'ANY') {
    for (const address of published.v6) records.push({ type: 'AAAA', name, ttl, address });
  }
  return records;
}

/** SRV records for a named port, one per target pod, and the targets' A/AAAA for Additional. */
export function srvRecords(
  name: string,
  ttl: number,
  port: ServicePortState,
  targets: readonly { fqdn: string; published: Published }[],
): { answers: ZoneRecord[]; additional: ZoneRecord[] } {
  // CoreDNS: priority 0, weights sharing 100 equally (floor(100 / n)).
  const weight = Math.floor(100 / targets.length);
  const answers: ZoneRecord[] = [];
  const additional: ZoneRecord[] = [];
  for (const t of targets) {
    answers.push({ type: 'SRV', name, ttl, priority: 0, weight, port: port.port, target: t.fqdn });
    for (const address of t.published.v4) additional.push({ type: 'A', name: t.fqdn, ttl, address });
    for (const address of t.published.v6) additional.push({ type: 'AAAA', name: t.fqdn, ttl, address });
  }
  return { answers, additional };
}
