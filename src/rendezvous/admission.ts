// Admission of inbound connections before they authenticate: bounded, and not starved by idle clients.
//
// Every accepted connection is a pending handshake until it proves the token. The pending ones are capped
// per source address and in all; a new connection over a cap evicts the OLDEST pending one (one that has not
// even sent its hello first) instead of being refused, so that a client holding idle connections cannot keep
// a member out: the member's connection is the newest and finishes its handshake within a round trip. A
// connection must send its hello within FIRST_FRAME_MS. The acceptor says `busy` to what it sheds. Over the
// total cap, the address holding the most pending handshakes pays first (when it holds more than one): an
// attacker that sends a hello at once and stalls, reconnecting, is never idle nor stalled for long, but it
// needs many connections to fill the cap, and a member holds one. Within the address that pays (or over
// the per-address cap, or when every address holds one): a client that sent its hello and then stalled past
// FIRST_FRAME_MS, then the oldest idle one, then the oldest.
import type { Channel } from './channel.js';
import { encodeFrame } from './frames.js';
import { PROTOCOL_VERSION } from './messages.js';

/** Pending (unauthenticated) handshakes one source address may hold. */
export const MAX_PENDING_PER_SOURCE = 16;
/** How long an inbound connection may take to send its hello. */
export const FIRST_FRAME_MS = 1000;

/** Pending handshakes in all for a job of `completions` pods: every member at once, twice over. */
export function maxPending(completions: number): number {
  return Math.max(64, 2 * completions);
}

interface Entry {
  readonly channel: Channel;
  readonly source: string;
  /** When its hello arrived (epoch ms); undefined while it is idle. */
  spokeAt: number | undefined;
}

/** The pending handshakes of one listener. */
export class Admission {
  readonly #max: number;
  readonly #perSource: number;
  readonly #onShed: (source: string, why: string) => void;
  /** Insertion order = age: the first entry of a set is the oldest. */
  readonly #idle = new Set<Entry>();
  readonly #spoke = new Set<Entry>();
  readonly #bySource = new Map<string, Set<Entry>>();
  /** Sources by how many pending handshakes they hold: `#byCount[k]` holds the sources with k. */
  readonly #byCount: Set<string>[] = [];
  readonly #busyFrames = new Map<string, Buffer>();
  /** Connections shed so far (read by the tests). */
  shed = 0;

  readonly #now: () => number;

  constructor(
    max: number,
    perSource: number,
    onShed: (source: string, why: string) => void,
    now: () => number = Date.now,
  ) {
    this.#max = max;
    this.#perSource = perSource;
    this.#onShed = onShed;
    this.#now = now;
  }

  /** Pending handshakes now. */
  get pending(): number {
    return this.#idle.size + this.#spoke.size;
  }

  /**
   * Admit a new connection, shedding the oldest pending one of its source or of all when over a cap.
   * Returns `spoke` (call when its hello arrived) and `done` (call when its handshake ended, either way).
   */
  admit(channel: Channel): { spoke: () => void; done: () => void } {
    const source = channel.remoteAddress;
    const own = this.#bySource.get(source);
    if (own && own.size >= this.#perSource) {
      this.#evict(this.#victimOf(own), `more than ${this.#perSource} pending handshakes from one address`);
    } else if (this.pending >= this.#max) {
      const heaviest = this.#heaviest();
      let victim: Entry | undefined;
      if (heaviest && heaviest.size > 1) victim = this.#victimOf(heaviest);
      else {
        // #spoke is in the order the hellos came: its first entry is the longest stalled.
        const staller = first(this.#spoke);
        victim = staller && this.#stalled(staller) ? staller : (first(this.#idle) ?? staller);
      }
      if (victim) this.#evict(victim, `more than ${this.#max} pending handshakes in all`);
    }
    const entry: Entry = { channel, source, spokeAt: undefined };
    this.#idle.add(entry);
    let set = this.#bySource.get(source);
    if (!set) {
      set = new Set();
      this.#bySource.set(source, set);
    }
    set.add(entry);
    this.#recount(source, set.size - 1, set.size);
    return {
      spoke: () => {
        if (entry.spokeAt === undefined && this.#idle.delete(entry)) {
          entry.spokeAt = this.#now();
          this.#spoke.add(entry);
        }
      },
      done: () => this.#remove(entry),
    };
  }

  /** A client that sent its hello and then stalled longer than a hello may take: shed before anything. */
  #stalled(entry: Entry): boolean {
    return entry.spokeAt !== undefined && this.#now() - entry.spokeAt > FIRST_FRAME_MS;
  }

  /**
   * Whom to shed among `set` (arrival order): a staller (longest stalled first), else the oldest idle one,
   * else the oldest. An idle connection goes before one mid-handshake: a member's handshake takes a round
   * trip or two, so only a client that stalls or never speaks is ever old.
   */
  #victimOf(set: Set<Entry>): Entry {
    let staller: Entry | undefined;
    let idle: Entry | undefined;
    let oldest: Entry | undefined;
    for (const e of set) {
      oldest ??= e;
      if (e.spokeAt === undefined) idle ??= e;
      else if (this.#stalled(e) && (staller === undefined || e.spokeAt < staller.spokeAt!)) staller = e;
    }
    return staller ?? idle ?? oldest!;
  }

  #remove(entry: Entry): void {
    this.#idle.delete(entry);
    this.#spoke.delete(entry);
    const set = this.#bySource.get(entry.source);
    if (!set?.delete(entry)) return;
    this.#recount(entry.source, set.size + 1, set.size);
    if (set.size === 0) this.#bySource.delete(entry.source);
  }

  /** Move `source` from the bucket of `from` pending handshakes to that of `to`. */
  #recount(source: string, from: number, to: number): void {
    this.#byCount[from]?.delete(source);
    if (to === 0) return;
    let bucket = this.#byCount[to];
    if (!bucket) {
      bucket = new Set();
      this.#byCount[to] = bucket;
    }
    bucket.add(source);
  }

  /** The pending handshakes of the source that holds the most (counts are at most the per-source cap). */
  #heaviest(): Set<Entry> | undefined {
    for (let k = this.#byCount.length - 1; k > 0; k--) {
      const bucket = this.#byCount[k];
      const source = bucket && first(bucket);
      if (source !== undefined) return this.#bySource.get(source);
    }
    return undefined;
  }

  #evict(entry: Entry, why: string): void {
    this.#remove(entry);
    this.shed++;
    this.#onShed(entry.source, why);
    // One encoding per reason (two of them): a flood sheds thousands.
    let frame = this.#busyFrames.get(why);
    if (!frame) {
      frame = encodeFrame({
        v: PROTOCOL_VERSION,
        type: 'reject',
        code: 'busy',
        reason: `busy (${why}), retry`,
      });
      this.#busyFrames.set(why, frame);
    }
    entry.channel.sendFrame(frame);
    entry.channel.close({ kind: 'local', message: `shed: ${why}` }, true);
  }
}

function first<T>(set: Set<T>): T | undefined {
  for (const x of set) return x;
  return undefined;
}
