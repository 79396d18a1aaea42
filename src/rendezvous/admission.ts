// Admission of inbound connections before they authenticate: bounded, and not starved by idle clients.
//
// Every accepted connection is a pending handshake until it proves the token. The pending ones are capped
// per source address and in all; a new connection over a cap evicts the OLDEST pending one (one that has not
// even sent its hello first) instead of being refused, so that a client holding idle connections cannot keep
// a member out: the member's connection is the newest and finishes its handshake within a round trip. A
// connection must send its hello within FIRST_FRAME_MS. The acceptor says `busy` to what it sheds.
import type { Channel } from './channel.js';
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
  /** Its hello arrived: a client that speaks the protocol, evicted only when no idle one is left. */
  spoke: boolean;
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
  /** Connections shed so far (for tests and the warning). */
  shed = 0;

  constructor(max: number, perSource: number, onShed: (source: string, why: string) => void) {
    this.#max = max;
    this.#perSource = perSource;
    this.#onShed = onShed;
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
      this.#evict(oldest(own), `more than ${this.#perSource} pending handshakes from one address`);
    } else if (this.pending >= this.#max) {
      const victim = first(this.#idle) ?? first(this.#spoke);
      if (victim) this.#evict(victim, `more than ${this.#max} pending handshakes in all`);
    }
    const entry: Entry = { channel, source, spoke: false };
    this.#idle.add(entry);
    let set = this.#bySource.get(source);
    if (!set) {
      set = new Set();
      this.#bySource.set(source, set);
    }
    set.add(entry);
    return {
      spoke: () => {
        if (!entry.spoke && this.#idle.delete(entry)) {
          entry.spoke = true;
          this.#spoke.add(entry);
        }
      },
      done: () => this.#remove(entry),
    };
  }

  #remove(entry: Entry): void {
    this.#idle.delete(entry);
    this.#spoke.delete(entry);
    const set = this.#bySource.get(entry.source);
    if (set?.delete(entry) && set.size === 0) this.#bySource.delete(entry.source);
  }

  #evict(entry: Entry, why: string): void {
    this.#remove(entry);
    this.shed++;
    this.#onShed(entry.source, why);
    entry.channel.send({
      v: PROTOCOL_VERSION,
      type: 'reject',
      code: 'busy',
      reason: `busy (${why}), retry`,
    });
    entry.channel.close({ kind: 'local', message: `shed: ${why}` });
  }
}

function first<T>(set: Set<T>): T | undefined {
  for (const x of set) return x;
  return undefined;
}

/** The oldest entry of a source's set, preferring one that has not spoken. */
function oldest(set: Set<Entry>): Entry {
  let fallback: Entry | undefined;
  for (const e of set) {
    if (!e.spoke) return e;
    fallback ??= e;
  }
  return fallback!;
}
