// The cache mode of ClusterDnsServer: what CoreDNS' `cache` plugin does in front of the `kubernetes` plugin.
// An answer is kept for min(its smallest record TTL, the cap) (positive) or min(SOA TTL, SOA MINIMUM, the
// denial cap) (NXDOMAIN and NODATA), but at least CoreDNS' MINTTL of 5 s (or the cap if smaller), counted from
// when it was first given, and served from here until then
// whatever the zone does meanwhile; every record of a served answer carries the seconds left (CoreDNS writes
// the entry's remaining TTL into each record). Pure: the clock is passed in; works on wire-form records.

import type { EncodedAnswer } from './server-wire.js';
import { RCODE } from './types.js';

const TYPE_SOA = 6;
/** CoreDNS' `cache` keeps every entry at least MINTTL seconds (default 5 for success and denial), or the cap. */
export const MIN_TTL_SECONDS = 5;

/** The caps of the cache, in seconds (like `cache 30` or `success … 30` / `denial … 5`). */
export interface CacheCaps {
  /** Longest a positive answer is kept. */
  readonly positiveSeconds: number;
  /** Longest a denial (NXDOMAIN, NODATA) is kept. */
  readonly negativeSeconds: number;
}

/** Offset of the TTL field in one wire-form record (owner name, then TYPE, CLASS, TTL); -1 when malformed. */
export function ttlOffset(record: Buffer): number {
  let offset = 0;
  for (;;) {
    if (offset >= record.length) return -1;
    const b = record[offset]!;
    if (b === 0) {
      offset += 1;
      break;
    }
    if ((b & 0xc0) === 0xc0) {
      offset += 2;
      break;
    }
    offset += 1 + b;
  }
  return offset + 8 <= record.length ? offset + 4 : -1;
}

/** The TTL of one wire-form record. */
export function recordTtl(record: Buffer): number {
  const at = ttlOffset(record);
  return at < 0 ? 0 : record.readUInt32BE(at);
}

/** A copy of the record with its TTL set to `ttl`. */
export function withTtl(record: Buffer, ttl: number): Buffer {
  const at = ttlOffset(record);
  const out = Buffer.from(record);
  if (at >= 0) out.writeUInt32BE(ttl >>> 0, at);
  return out;
}

/** The SOA's TTL and MINIMUM when the record is an SOA, else undefined. */
export function soaTimers(record: Buffer): { ttl: number; minimum: number } | undefined {
  const at = ttlOffset(record);
  if (at < 0 || record.readUInt16BE(at - 4) !== TYPE_SOA || record.length < at + 6 + 20) return undefined;
  return { ttl: record.readUInt32BE(at), minimum: record.readUInt32BE(record.length - 4) };
}

/** What kind of answer, for the cache: positive, a denial, or one it does not keep. */
export function answerKind(answer: EncodedAnswer): 'positive' | 'denial' | 'uncached' {
  if (answer.rcode === RCODE.NXDOMAIN) return 'denial';
  if (answer.rcode !== RCODE.NOERROR) return 'uncached';
  return answer.answers.length > 0 ? 'positive' : 'denial';
}

/**
 * Seconds to keep `answer` (0: not kept). Positive: the smallest TTL of its records, capped. Denial: min(SOA
 * TTL, SOA MINIMUM) of the SOA in Authority, capped; a denial without an SOA, SERVFAIL, REFUSED and the other
 * errors are not kept. Either is kept at least MIN_TTL_SECONDS (or the cap, if smaller), as CoreDNS does.
 */
export function cacheSeconds(answer: EncodedAnswer, caps: CacheCaps): number {
  const kind = answerKind(answer);
  if (kind === 'uncached') return 0;
  if (kind === 'positive') {
    let ttl = caps.positiveSeconds;
    for (const section of [answer.answers, answer.authority, answer.additional]) {
      for (const record of section) ttl = Math.min(ttl, recordTtl(record));
    }
    return Math.max(Math.min(MIN_TTL_SECONDS, caps.positiveSeconds), ttl);
  }
  for (const record of answer.authority) {
    const soa = soaTimers(record);
    if (soa !== undefined) {
      const floor = Math.min(MIN_TTL_SECONDS, caps.negativeSeconds);
      return Math.max(floor, Math.min(soa.ttl, soa.minimum, caps.negativeSeconds));
    }
  }
  return 0;
}

interface Entry {
  readonly answer: EncodedAnswer;
  readonly storedAt: number;
  readonly seconds: number;
}

/** Counters of the cache. */
export interface CacheCounts {
  hits: number;
  misses: number;
}

/** Answers by name and type, as CoreDNS' cache keeps them; bounded (starts over past `limit` entries). */
export class AnswerCache {
  readonly caps: CacheCaps;
  readonly #limit: number;
  readonly #entries = new Map<string, Map<number, Entry>>();
  #size = 0;

  constructor(caps: CacheCaps, limit = 10_000) {
    this.caps = caps;
    this.#limit = limit;
  }

  /** Entries held (expired ones included until they are asked for or the cache starts over). */
  get size(): number {
    return this.#size;
  }

  /**
   * The answer for `name`/`qtype` at `now` (ms) with every record's TTL set to the seconds left, or undefined
   * when there is none or it expired (served while whole seconds are left, as CoreDNS does).
   */
  get(name: string, qtype: number, now: number): EncodedAnswer | undefined {
    const byType = this.#entries.get(name);
    const entry = byType?.get(qtype);
    if (entry === undefined) return undefined;
    const left = entry.seconds - Math.floor(Math.max(0, now - entry.storedAt) / 1000);
    if (left <= 0) {
      byType!.delete(qtype);
      this.#size--;
      if (byType!.size === 0) this.#entries.delete(name);
      return undefined;
    }
    const set = (records: readonly Buffer[]) => records.map((r) => withTtl(r, left));
    const a = entry.answer;
    return {
      rcode: a.rcode,
      authoritative: a.authoritative,
      answers: set(a.answers),
      authority: set(a.authority),
      additional: set(a.additional),
    };
  }

  /** Keep `answer` as first given at `now` (ms); returns the seconds it is kept (0: not kept). */
  put(name: string, qtype: number, answer: EncodedAnswer, now: number): number {
    const seconds = cacheSeconds(answer, this.caps);
    if (seconds <= 0) return 0;
    if (this.#size >= this.#limit) this.clear();
    let byType = this.#entries.get(name);
    if (byType === undefined) {
      byType = new Map();
      this.#entries.set(name, byType);
    }
    if (!byType.has(qtype)) this.#size++;
    byType.set(qtype, { answer, storedAt: now, seconds });
    return seconds;
  }

  /** Forget every entry. */
  clear(): void {
    this.#entries.clear();
    this.#size = 0;
  }
}
