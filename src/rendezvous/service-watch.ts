// The headless Service's answers as the agent sees them: the latest, who waits for the next, and the one
// warning about a Service that publishes only Ready pods (issue 11, point 4).
import type { Clock } from './clock.js';
import { RECORD_GRACE_MS } from './evidence.js';
import { type AddressLookup, describeDenial, type LookupGate } from './lookup.js';

/** A Service that still leaves out a running pod's address this long after the pod started publishes only Ready pods. */
export const READY_ONLY_AFTER_MS = 3000;

/** The latest answer for the headless Service name, and when it came. */
export interface ServiceAnswer {
  readonly addresses: ReadonlySet<string>;
  readonly at: number;
  readonly ttl: number;
  /** AA was set. */
  readonly authoritative: boolean;
  /**
   * It may come from a cache and be older than it looks: not AA (unbound), or AA with less TTL left than the
   * Service's answers have shown (CoreDNS' cache sets AA on what it serves from its cache, and counts the TTL
   * down). The zone's own server always gives the whole TTL: false then, the answer is current.
   */
  readonly cached: boolean;
}

export class ServiceWatch {
  readonly name: string | undefined;
  latest: ServiceAnswer | undefined;
  readonly #gate: LookupGate;
  readonly #clock: Clock;
  readonly #signal: AbortSignal;
  readonly #startedAt: number;
  readonly #self: () => string | undefined;
  readonly #warn: (message: string) => void;
  readonly #notice: (message: string) => void;
  readonly #waiters = new Set<() => void>();
  /** Answers received after this time were fetched after the pod had run a while. */
  #freshAfter: number | undefined;
  #readyOnlyWarned = false;
  #denialNoted = false;
  /** The longest TTL a positive answer for the Service name has had (what a new one carries, at least). */
  #ttlMax = 0;

  constructor(options: {
    name: string | undefined;
    gate: LookupGate;
    clock: Clock;
    signal: AbortSignal;
    startedAt: number;
    /** This pod's address as the others see it, once known. */
    self: () => string | undefined;
    warn: (message: string) => void;
    /** Said once, at the default log level: what the cluster DNS's cache does to this barrier. */
    notice: (message: string) => void;
  }) {
    this.name = options.name;
    this.#gate = options.gate;
    this.#clock = options.clock;
    this.#signal = options.signal;
    this.#startedAt = options.startedAt;
    this.#self = options.self;
    this.#warn = options.warn;
    this.#notice = options.notice;
  }

  /** Ask the Service name once (its denial does not stop later questions); note what it holds. */
  async ask(): Promise<AddressLookup | undefined> {
    const name = this.name;
    if (name === undefined) return undefined;
    const lookup = await this.#gate
      .addresses(name, this.#signal, { respectDenial: false })
      .catch(() => undefined);
    if (!lookup) return undefined;
    const now = this.#clock.now();
    const ttl = lookup.ttl ?? 0;
    if (lookup.addresses.length > 0) this.#ttlMax = Math.max(this.#ttlMax, ttl);
    this.latest = {
      addresses: new Set(lookup.addresses),
      at: now,
      ttl,
      authoritative: lookup.authoritative === true,
      cached: lookup.authoritative !== true || ttl < this.#ttlMax,
    };
    this.#checkReadyOnly(lookup, now);
    this.#noteDenial(name, lookup);
    this.poke();
    return lookup;
  }

  /** Wake every next() waiter now (something else they wait for changed). */
  poke(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Whether the latest answer holds `address`. */
  publishes(address: string | undefined): boolean {
    return address !== undefined && this.latest?.addresses.has(address) === true;
  }

  /** Resolves at the next answer (or poke), at `until`, or on abort of `signal` (whichever first). */
  next(until: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.#clock.clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = this.#clock.setTimeout(done, Math.max(0, until - this.#clock.now()));
      this.#waiters.add(done);
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * The Service name denied with a negative TTL: every cache in front of the zone (CoreDNS' `cache`, NodeLocal
   * DNSCache) serves that denial to every pod for as long, so no pod shows in its answer until then. Said once.
   */
  #noteDenial(name: string, lookup: AddressLookup): void {
    if (this.#denialNoted || !lookup.denial || lookup.queries === 0) return;
    this.#denialNoted = true;
    this.#notice(
      `the headless Service has no published pod yet: ${describeDenial(name, lookup.denial)}. Until then its answer shows no pod, so each pod's name is asked once a private-type question finds its record (or ${RECORD_GRACE_MS / 1000} s after that pod showed it is alive); publishNotReadyAddresses: true on the Service publishes each pod's record from the time it has an IP`,
    );
  }

  /**
   * A Service that publishes only Ready pods. Said once, when an answer that must have been fetched after this
   * pod had run READY_ONLY_AFTER_MS (a cache may hold an older one for its TTL) leaves it out.
   */
  #checkReadyOnly(lookup: AddressLookup, now: number): void {
    const self = this.#self();
    if (this.#readyOnlyWarned || self === undefined || lookup.addresses.length === 0) return;
    if (lookup.addresses.includes(self)) {
      this.#freshAfter = Number.POSITIVE_INFINITY; // published: nothing to say, ever
      return;
    }
    if (now - this.#startedAt < READY_ONLY_AFTER_MS) return;
    if (this.#freshAfter === undefined) {
      // This answer may come from a cache filled before we started (unless the zone's server gave it: not
      // `cached`): the next one after its TTL cannot.
      // TTLs are whole seconds, counted down by the cache: up to 1 s more may be left than it says.
      const ttl = this.latest?.cached === false ? 0 : (lookup.ttl ?? 0);
      this.#freshAfter = now + (ttl > 0 ? ttl * 1000 + 1000 : 0);
      if (ttl > 0) return;
    }
    if (now < this.#freshAfter) return;
    this.#readyOnlyWarned = true;
    this.#warn(
      `the headless Service ${this.name} answers ${lookup.addresses.length} address(es) but not this pod's ${self}, ${Math.round((now - this.#startedAt) / 1000)} s after it started: it publishes only Ready pods. Set publishNotReadyAddresses: true on it, so each pod's record exists from the time it has an IP (the barrier's handshake is the readiness gate, and a name asked before its record exists stays denied for the DNS cache's negative TTL)`,
    );
  }
}
