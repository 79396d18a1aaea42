// The existence probe (ARCHITECTURE.md, "Never poison a name"): whether a name has a record now, asked without
// putting a denial of its A/AAAA question in any cache. The question is for a private-use type (RFC 6895:
// 65280–65534) nothing has records of, a new type each time: the zone's server answers NODATA when the name
// exists and NXDOMAIN when it does not (CoreDNS' kubernetes plugin answers any other type with a fake A lookup
// "to distinguish between NODATA and NXDOMAIN"; Knot, dnsmasq and the project's server alike), and a cache keeps
// that answer under that type only (CoreDNS' cache keys on name, type and DO; unbound without DNSSEC likewise):
// the name's A question afterwards still reaches the zone. test/dns/existence-probe.test.ts checks this against
// Knot, unbound in front of it, dnsmasq and the project's server with and without its cache mode.
//
// A verdict counts only from a server seen to tell names apart: a name that surely does not exist (a random
// sibling of the first name probed) must be NXDOMAIN, asked with two types before any real probe — `exists`
// means nothing from a server that answers NODATA for anything, and a cache that keeps an NXDOMAIN for every
// type of the name (dnsmasq; seen as AA on the first answer, none on the second) turns the probe off; and
// `absent` is only relied on (a wait past the grace times) once the server said `exists` of some name (a server
// that denies every unknown type would say `absent` forever).
import { ipFamily } from '../dns/ip-bytes.js';
import { type DnsResult, PRIVATE_TYPE_FIRST, PRIVATE_TYPE_LAST, type PrivateType } from '../dns/types.js';
import { randomBytes, randomInt } from '../random.js';
import type { BackoffPolicy } from './backoff.js';
import { siblingName } from './denial-age.js';
import { type LookupGate, raceSignal } from './lookup.js';

/** What one probe says: the name has a record, it has none, or the answer says nothing either way. */
export type Existence = 'exists' | 'absent' | 'unknown';

/** Probes of a name not there yet: each is a new question for the zone's server (a cache has none of them). */
export const PROBE_POLL: BackoffPolicy = { first: 50, factor: 2, cap: 400, floor: 25 };

const PRIVATE_TYPES = PRIVATE_TYPE_LAST - PRIVATE_TYPE_FIRST + 1;

/**
 * A name many agents probe (every member probes the coordinator's) shares the 255 private types among them: a
 * cache keeps each type's NXDOMAIN for its negative TTL, so once the job has used most types within that time
 * every probe is answered from the cache, stale `absent` included (measured: N=64 through unbound at 30 s, all
 * members' probes of a late coordinator's name said `absent` until 27 s, 23 s after its record came). Each
 * prober waits this long per prober between probes of such a name on average: N−1 members probe it about
 * 2.7 times a second in all, ~80 types in 30 s.
 */
export const SHARED_PROBE_SPACING_MS = 250;

/**
 * `policy` for a name probed this long already: as it is for 5 s, then capped at ≥ 1 s, after 30 s at ≥ 2 s
 * (as livePoll). Every probe is a question the zone's server answers (no cache has its type): a record that
 * never comes (an init container without `publishNotReadyAddresses`) must not cost 2.5 of them a second per
 * pod for the whole timeout. A policy already slower (a shared name) is kept.
 */
export function slowedProbePoll(policy: BackoffPolicy, probingForMs: number): BackoffPolicy {
  if (probingForMs < 5_000) return policy;
  const cap = probingForMs < 30_000 ? 1_000 : 2_000;
  return policy.cap >= cap ? policy : { ...policy, cap };
}

/** The probe poll for a name that `probers` agents probe at once (PROBE_POLL for one or two). */
export function sharedProbePoll(probers: number): BackoffPolicy {
  const mean = probers * SHARED_PROBE_SPACING_MS;
  if (mean <= PROBE_POLL.cap) return PROBE_POLL;
  return { first: 2 * mean, factor: 1, cap: 2 * mean, floor: mean };
}

/** `prdv-none-<random>.` + the parent of `name` (a name nobody has), or undefined for a name of one label. */
export function absentSibling(name: string, random: Buffer = randomBytes(8)): string | undefined {
  return siblingName('prdv-none-', name, random);
}

/** One agent's existence probes, through its LookupGate (counted, aborted with the agent). */
export class ExistenceProbe {
  readonly #gate: LookupGate;
  /**
   * Where a newly probed name's sequence of types starts (it moves on with every question): a random start, so
   * pods seldom share a type (and a cached answer).
   */
  #next: number;
  /** The next type of each name probed (lower case). */
  readonly #perName = new Map<string, number>();
  /** Settles true once a sure absence was denied (NXDOMAIN); false when it was not (or could not be asked). */
  #calibration: Promise<boolean> | undefined;
  #calibrated = false;
  #sawExists = false;
  #confirmed = false;
  readonly #inflight = new Map<string, Promise<Existence>>();
  /** Probes sent (each one DNS question; the calibration's included). */
  probes = 0;
  /** The calibration found a cache that keeps an NXDOMAIN for every type of a name: probes are off. */
  crossType = false;

  constructor(gate: LookupGate, start: number = randomInt(PRIVATE_TYPES)) {
    this.#gate = gate;
    this.#next = start % PRIVATE_TYPES;
  }

  /** A name nobody has was denied as it must be: an `exists` from this server would mean something. */
  get calibrated(): boolean {
    return this.#calibrated;
  }

  /** An `absent` verdict is worth waiting on: the server told a sure absence from a name that exists. */
  get absentIsReliable(): boolean {
    return this.#calibrated && this.#sawExists;
  }

  /**
   * Whether `name` has a record now. Identical probes in flight are shared: a probe runs under the gate's own
   * signal (the agent's lifetime), and each caller races its own `signal` against it, as LookupGate does.
   */
  check(name: string, signal: AbortSignal): Promise<Existence> {
    if (ipFamily(name) !== 0) return Promise.resolve('exists');
    const key = name.toLowerCase();
    let run = this.#inflight.get(key);
    if (!run) {
      const shared = this.#probe(name).finally(() => this.#inflight.delete(key));
      shared.catch(() => {}); // the agent's end: every caller has its own rejection
      this.#inflight.set(key, shared);
      run = shared;
    }
    return raceSignal(run, signal);
  }

  /**
   * Probe `name`, known to exist (a Service name whose answer holds pods), once: its NODATA shows the server
   * answers existing names so, and makes `absent` reliable. Nothing when that is known already or was tried.
   * With `again` (this pod's own name, which will exist), asked whenever called until some name `exists`.
   */
  async confirm(name: string, signal: AbortSignal, again = false): Promise<void> {
    if (this.#sawExists || (!again && this.#confirmed)) return;
    if (!again) this.#confirmed = true;
    await this.check(name, signal);
  }

  async #probe(name: string): Promise<Existence> {
    // The calibration first: behind a cache that keeps an NXDOMAIN for every type, the probe's own denial
    // would be the poison it is meant to avoid.
    const calibrated = await this.#calibrate(name);
    if (this.crossType) return 'unknown';
    const result = await this.#ask(name);
    if (result.kind === 'nxdomain') return 'absent';
    if ((result.kind === 'nodata' || result.kind === 'records') && calibrated) {
      this.#sawExists = true;
      return 'exists';
    }
    return 'unknown';
  }

  /**
   * Once per agent (again after a failure that was not an answer): a sure absence must be NXDOMAIN, asked
   * twice with two types. A cache that keeps an NXDOMAIN for the name whatever the type (dnsmasq does; RFC 2308
   * §5 allows it) would deny the name's A question after a probe's denial: it shows as a first answer passed on
   * from the zone (AA) and a second from the cache (no AA), and turns the probe off. (A cache that never
   * passes AA on, unbound for one, cannot be told apart this way; unbound keeps denials per type.)
   */
  #calibrate(name: string): Promise<boolean> {
    if (this.#calibration) return this.#calibration;
    const none = absentSibling(name);
    if (none === undefined) return Promise.resolve(false);
    const run = (async () => {
      const first = await this.#ask(none);
      const second = first.kind === 'nxdomain' ? await this.#ask(none) : undefined;
      const answered = (r: DnsResult | undefined): boolean =>
        r !== undefined && (r.kind === 'nxdomain' || r.kind === 'nodata' || r.kind === 'records');
      if (!answered(first) || (first.kind === 'nxdomain' && !answered(second))) this.#calibration = undefined; // silent or failing: ask again with the next probe
      this.crossType =
        first.kind === 'nxdomain' &&
        second?.kind === 'nxdomain' &&
        first.authoritative &&
        !second.authoritative;
      this.#calibrated = first.kind === 'nxdomain' && second?.kind === 'nxdomain' && !this.crossType;
      return this.#calibrated;
    })();
    run.catch(() => {
      this.#calibration = undefined;
    });
    this.#calibration = run;
    return run;
  }

  /**
   * One question for the next private type of `name`; rejects only when the agent ends (the gate's signal).
   * Each name has its own sequence (from where the agent's stood at its first probe): a coordinator probing 63
   * names in turn would otherwise come back to a type it used for the same name seconds before, whose NXDOMAIN
   * the cache still holds — a stale `absent` after the record came.
   */
  #ask(name: string): Promise<DnsResult> {
    const key = name.toLowerCase();
    const k = this.#perName.get(key) ?? this.#next;
    this.#perName.set(key, (k + 1) % PRIVATE_TYPES);
    const type: PrivateType = `TYPE${PRIVATE_TYPE_FIRST + k}`;
    this.#next = (this.#next + 1) % PRIVATE_TYPES;
    this.probes++;
    return this.#gate.query(name, type);
  }
}
