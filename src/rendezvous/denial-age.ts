// How old a cached denial of the headless Service's name is, read from the cache's own answers (ARCHITECTURE.md,
// "Never poison a name"): a cache counts a denial's negative TTL down from what it gave it when it was new, so
// the age is what a new denial gets now minus what this one has left. What a new denial gets is measured, not
// assumed: a name nobody ever asked, next to the Service's name, is denied by the same cache now.
import type { DnsResult } from '../dns/types.js';
import { randomBytes } from '../random.js';
import type { CachedDenial, LookupGate } from './lookup.js';

/** Caches count TTLs in whole seconds (unbound: floor(now) − floor(then); CoreDNS truncates the age). */
export const TTL_ROUNDING_S = 1;

/** What a denial says about its age: the negative TTL left and the server that gave it. */
export interface DenialReading {
  /** min(SOA TTL, SOA MINIMUM) of the answer, seconds (undefined: no SOA came). */
  readonly negativeTtl: number | undefined;
  /** The server that answered (`host:port`). */
  readonly server: string;
}

/**
 * A lower bound on the age of `denial` in ms: `fresh` is a denial of a name nobody asked before, by the same
 * server, just after. Their difference minus a second of rounding; 0 whenever it proves nothing: no fresh
 * reading, another server (another cache, other caps), no SOA, or a fresh denial no longer than this one (no
 * cache counting down, as a zone's own server; or one that shares the zone's SOA between all denials, as
 * unbound does while the SOA is unchanged, so that every denial shows the SOA's age in the cache). Read exactly
 * for caches that count each answer from its own storing (CoreDNS' `cache`, NodeLocal DNSCache); see
 * ARCHITECTURE.md for where unbound's shared SOA can make it overstate.
 */
export function denialAgeMs(denial: DenialReading, fresh: DenialReading | undefined): number {
  if (fresh === undefined || fresh.server !== denial.server) return 0;
  if (denial.negativeTtl === undefined || fresh.negativeTtl === undefined) return 0;
  const seconds = fresh.negativeTtl - denial.negativeTtl - TTL_ROUNDING_S;
  return seconds > 0 ? seconds * 1000 : 0;
}

/** The reading of a fresh question's answer: only a denial counts (a name that exists says nothing). */
export function freshReading(result: DnsResult): DenialReading | undefined {
  if (result.kind !== 'nxdomain' && result.kind !== 'nodata') return undefined;
  return { negativeTtl: result.negativeTtl, server: result.server };
}

/**
 * A name nobody asks, next to the Service's (`<random>.<ns>.svc.<domain>.` for `<svc>.<ns>.svc.<domain>.`), not
 * below it: a cache may answer names below a denied one from that denial (RFC 8020). Undefined for a name of
 * one label.
 */
export function siblingProbeName(serviceName: string, random: Buffer = randomBytes(8)): string | undefined {
  return siblingName('prdv-age-', serviceName, random);
}

/** `<prefix><random hex>` + the parent of `name` (`.` and the labels after the first); undefined for one label. */
export function siblingName(
  prefix: string,
  name: string,
  random: Buffer = randomBytes(8),
): string | undefined {
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1) return undefined;
  return `${prefix}${random.toString('hex')}${name.slice(dot)}`;
}

/**
 * The age (ms, a lower bound) of the Service name's cached `denial`: asks one name nobody asked (a denial that
 * harms no one) through `gate`, once. 0 when the denial is as long as its SOA MINIMUM (at most a second old,
 * nothing to ask) or when the answer proves nothing.
 */
export async function serviceDenialAgeMs(
  gate: LookupGate,
  serviceName: string,
  denial: CachedDenial,
  signal: AbortSignal,
): Promise<number> {
  if (denial.minimum !== undefined && denial.ttl >= denial.minimum) return 0;
  const probe = siblingProbeName(serviceName);
  if (probe === undefined) return 0;
  const result = await gate.query(probe, 'A', signal).catch(() => undefined);
  if (result === undefined) return 0;
  return denialAgeMs({ negativeTtl: denial.ttl, server: denial.server }, freshReading(result));
}
