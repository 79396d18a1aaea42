// The coordinator's barrier as a pure state machine: joins, name checks, readiness, mesh epochs, release and
// acks. No sockets, no timers, no DNS: coordinator.ts feeds it what happened and carries out what it returns
// (ARCHITECTURE.md, "The barrier state machine").
import { MAX_ADDRESSES_PER_POD } from './messages.js';

/** One joined member as the barrier sees it: a session of one incarnation of one index. */
export interface Member {
  readonly index: number;
  readonly incarnation: string;
  /** The address it connected from (what the handshake proved). */
  readonly address: string;
  readonly joinedAt: number;
  /** Since when its agent runs, as far as the coordinator knows (its join, or what `ready` said). */
  aliveSince: number;
  /** Its name resolves to `address` (or needs no check). */
  nameOk: boolean;
  /** What its name resolved to, for the release. */
  dnsAddresses: readonly string[];
  ready: boolean;
  readyEpoch: number;
  /** Mesh: the highest epoch of the introductions sent to it; it is ready only once it answered that one. */
  sentEpoch: number;
  /** After the release: it acked, or its connection ended (either way it no longer holds the release up). */
  settled: boolean;
}

/** Mesh: tell member `to` about `peer` (a `peer` message of this epoch). */
export interface Introduction {
  readonly to: Member;
  readonly epoch: number;
  readonly peer: Member;
}

export type JoinOutcome =
  | { readonly kind: 'joined'; readonly member: Member; readonly replaced: Member | undefined }
  | { readonly kind: 'refused'; readonly reason: 'released' | 'bad-index' };

/** The release, decided once: every pod's addresses in index order (the coordinator's first). */
export interface ReleasePlan {
  readonly addresses: readonly (readonly string[])[];
  readonly at: number;
}

/** A member's addresses in a release: the one it connected from first, then its DNS ones, capped. */
export function podAddresses(s: { address: string; dnsAddresses: readonly string[] }): string[] {
  return [s.address, ...s.dnsAddresses.filter((a) => a !== s.address)].slice(0, MAX_ADDRESSES_PER_POD);
}

export class Barrier {
  readonly total: number;
  readonly mesh: boolean;
  readonly #members = new Map<number, Member>();
  /** Mesh: members whose names checked out since the last round of introductions. */
  readonly #pending = new Set<Member>();
  #epoch = 0;
  #ownNameOk: boolean;
  #release: ReleasePlan | undefined;

  /**
   * `total` pods, index 0 being this coordinator; `ownNameOk` false when the coordinator's own name must be
   * checked before release (fqdn exports name it too).
   */
  constructor(options: { total: number; mesh: boolean; ownNameOk: boolean }) {
    if (!Number.isInteger(options.total) || options.total < 1)
      throw new RangeError(`a barrier needs a whole number of pods ≥ 1, got ${options.total}`);
    this.total = options.total;
    this.mesh = options.mesh;
    this.#ownNameOk = options.ownNameOk || options.total === 1;
  }

  get released(): boolean {
    return this.#release !== undefined;
  }

  get releasePlan(): ReleasePlan | undefined {
    return this.#release;
  }

  get ownNameOk(): boolean {
    return this.#ownNameOk;
  }

  get epoch(): number {
    return this.#epoch;
  }

  /** The current session of `index`, if any. */
  member(index: number): Member | undefined {
    return this.#members.get(index);
  }

  members(): IterableIterator<Member> {
    return this.#members.values();
  }

  get joined(): number {
    return this.#members.size;
  }

  allJoined(): boolean {
    return this.#members.size >= this.total - 1;
  }

  /** Whether `m` is still the session of its index (events of a replaced or departed one are ignored). */
  current(m: Member): boolean {
    return this.#members.get(m.index) === m;
  }

  /** A member joins; a session of the same index it replaces is returned, for the driver to close. */
  join(index: number, incarnation: string, address: string, at: number): JoinOutcome {
    if (this.released) return { kind: 'refused', reason: 'released' };
    if (!Number.isInteger(index) || index < 1 || index >= this.total)
      return { kind: 'refused', reason: 'bad-index' };
    const replaced = this.#members.get(index);
    const member: Member = {
      index,
      incarnation,
      address,
      joinedAt: at,
      aliveSince: at,
      nameOk: false,
      dnsAddresses: [],
      ready: false,
      readyEpoch: -1,
      sentEpoch: 0,
      settled: false,
    };
    this.#members.set(index, member);
    return { kind: 'joined', member, replaced };
  }

  /**
   * `m`'s connection ended. Before the release its session is dropped (true); after it, it counts as settled.
   * Events of a session already replaced change nothing (false).
   */
  leave(m: Member): boolean {
    if (!this.current(m)) return false;
    if (this.released) {
      m.settled = true;
      return false;
    }
    this.#members.delete(m.index);
    this.#pending.delete(m);
    return true;
  }

  /** `m` says it is ready at `epoch` (mesh: it verified every peer introduced up to that epoch). */
  ready(m: Member, epoch: number): void {
    if (!this.current(m) || this.released) return;
    m.ready = true;
    m.readyEpoch = Math.max(m.readyEpoch, epoch);
  }

  /**
   * `m`'s name checked out (resolving to `dnsAddresses`). Mesh: it waits for the next round of introductions
   * (`introduce()`), and is not ready before it, so nobody's probe of a name is the first question for it.
   */
  nameChecked(m: Member, dnsAddresses: readonly string[]): void {
    if (!this.current(m) || this.released || m.nameOk) return;
    m.nameOk = true;
    m.dnsAddresses = [...dnsAddresses];
    if (this.mesh) this.#pending.add(m);
  }

  /** Mesh: names checked out and not introduced yet (the driver owes an `introduce()`). */
  get introductionsPending(): boolean {
    return this.#pending.size > 0;
  }

  /**
   * Mesh: one round of introductions under a new epoch — every member whose name checked out since the last
   * round learns every checked member, and every other checked member learns the round's new ones. A round
   * for many names at once costs each member one epoch (one `ready`) instead of one per name.
   */
  introduce(): Introduction[] {
    const fresh = [...this.#pending].filter((m) => this.current(m));
    this.#pending.clear();
    if (fresh.length === 0 || this.released) return [];
    const isFresh = new Set(fresh);
    const checked = [...this.#members.values()].filter((o) => o.nameOk);
    const out: Introduction[] = [];
    this.#epoch++;
    for (const o of checked) {
      for (const peer of isFresh.has(o) ? checked : fresh) {
        if (peer === o) continue;
        o.sentEpoch = this.#epoch;
        out.push({ to: o, epoch: this.#epoch, peer });
      }
    }
    return out;
  }

  ownNameChecked(): void {
    this.#ownNameOk = true;
  }

  isReady(m: Member): boolean {
    return m.nameOk && m.ready && (!this.mesh || (m.readyEpoch === m.sentEpoch && !this.#pending.has(m)));
  }

  /** Members counted ready (the coordinator not included). */
  readyMembers(): number {
    let count = 0;
    for (const m of this.#members.values()) if (this.isReady(m)) count++;
    return count;
  }

  /** Indexes (1…) not ready yet, in order, at most `limit`. */
  missing(limit = Number.POSITIVE_INFINITY): number[] {
    const out: number[] = [];
    for (let i = 1; i < this.total && out.length < limit; i++) {
      const m = this.#members.get(i);
      if (!m || !this.isReady(m)) out.push(i);
    }
    return out;
  }

  /** Every member joined, checked and ready (mesh: at its latest epoch), and the coordinator's own name. */
  releasable(): boolean {
    if (this.released || !this.#ownNameOk) return false;
    for (let i = 1; i < this.total; i++) {
      const m = this.#members.get(i);
      if (!m || !this.isReady(m)) return false;
    }
    return true;
  }

  /**
   * Decide the release once it is releasable: the addresses of every pod (`own` for index 0). Undefined when
   * it is not (yet) — or already released.
   */
  release(own: readonly string[], at: number): ReleasePlan | undefined {
    if (!this.releasable()) return undefined;
    const addresses: string[][] = [[...own]];
    for (let i = 1; i < this.total; i++) addresses.push(podAddresses(this.#members.get(i)!));
    this.#release = { addresses, at };
    return this.#release;
  }

  /** After the release, `m` acked it. True once no member holds the release up any more. */
  settle(m: Member): boolean {
    if (this.current(m)) m.settled = true;
    return this.allSettled();
  }

  allSettled(): boolean {
    if (!this.released) return false;
    for (const m of this.#members.values()) if (!m.settled) return false;
    return true;
  }
}
