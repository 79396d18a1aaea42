// Answering from the zone: the model's answer to a parsed query, encoded once per name and type and kept
// until the model changes or a lingering address expires.

import {
  CLASS_IN,
  type EncodedAnswer,
  emptyAnswer,
  encodeRecord,
  type ParsedQuery,
  questionLabels,
  TYPE_AXFR,
  TYPE_IXFR,
  zoneQueryType,
} from './server-wire.js';
import { RCODE } from './types.js';
import type { ClusterZone } from './zone.js';
import type { ZoneAnswer } from './zone-types.js';

interface CachedAnswer extends EncodedAnswer {
  readonly version: number;
  readonly validUntil: number;
}

/** Bound on cached encoded answers (names × types); the cache starts over past it. */
const CACHE_LIMIT = 50_000;

/** The zone's encoded answers, cached per name and type while they stay valid. */
export class ZoneAnswerer {
  readonly #model: ClusterZone;
  readonly #now: () => number;
  readonly #cache = new Map<string, Map<number, CachedAnswer>>();
  #soa: { version: number; record: Buffer } | undefined;

  constructor(model: ClusterZone, now: () => number) {
    this.#model = model;
    this.#now = now;
  }

  /** The encoded answer from the model, cached per name and type until the model changes. */
  answer(query: ParsedQuery, msg: Buffer): EncodedAnswer {
    const model = this.#model;
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
    if (cached !== undefined && cached.version === model.version && cached.validUntil > this.#now()) {
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
    const version = this.#model.version;
    if (this.#soa === undefined || this.#soa.version !== version) {
      this.#soa = { version, record: encodeRecord(this.#model.soa(), false) };
    }
    return this.#soa.record;
  }
}
