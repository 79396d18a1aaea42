// Name lookups as the agent makes them: A then AAAA, deduplicated, rate-limited per name, counted.
import { ipFamily } from '../dns/ip-bytes.js';
import type { DnsResult, QueryType, Resolver } from '../dns/types.js';
import { AbortedError } from '../errors.js';
import type { BackoffPolicy } from './backoff.js';
import { type Clock, clockWithNow, systemClock } from './clock.js';
import type { PeerStateKind } from './peer-state.js';
import { NotYet, retryUntil } from './retry.js';
import { sleep, type Waker } from './sleep.js';

/** A denial the cluster DNS gave for a name, and until when a cache in front of it serves that denial. */
export interface CachedDenial {
  readonly kind: 'nxdomain' | 'nodata';
  /** Epoch ms: before this, asking again only gets the cached denial back. */
  readonly until: number;
  /** min(SOA TTL, MINIMUM) of the answer, seconds. */
  readonly ttl: number;
  /** The SOA MINIMUM, seconds, when the answer carried one. */
  readonly minimum: number | undefined;
  readonly server: string;
}

/** A lookup's outcome reduced to what the barrier needs. */
export interface AddressLookup {
  readonly addresses: readonly string[];
  /** The state to report when there are no addresses (or `ready`-ish `unknown` when there are). */
  readonly state: PeerStateKind;
  readonly detail: string;
  /** DNS queries this lookup sent (0 for IP literals, shared in-flight answers and cached denials). */
  readonly queries: number;
  /** Smallest TTL of the address records (seconds), when there are addresses. */
  readonly ttl?: number | undefined;
  /** The answer had AA set: it came from the zone's server, not from a cache. */
  readonly authoritative?: boolean | undefined;
  /** Set when the name was denied and the denial is (as far as its SOA says) still cached. */
  readonly denial?: CachedDenial | undefined;
}

/** `12:00:31` (UTC, as pod clocks and logs usually are). */
export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** `NXDOMAIN for job-1.svc… is cached until 12:00:31 (SOA MINIMUM 30 s)`. */
export function describeDenial(name: string, d: CachedDenial): string {
  const what = d.kind === 'nxdomain' ? 'NXDOMAIN' : 'NODATA';
  const why =
    d.minimum === undefined
      ? `negative TTL ${d.ttl} s`
      : d.minimum === d.ttl
        ? `SOA MINIMUM ${d.minimum} s`
        : `${d.ttl} s left of SOA MINIMUM ${d.minimum} s`;
  return `${what} for ${name} is cached until ${clockTime(d.until)} (${why}) by ${d.server}`;
}

/**
 * Wraps a Resolver for one agent: identical questions in flight are shared, the same question is never sent
 * again sooner than `floor` ms, queries are counted, and a denial is remembered for its negative TTL.
 *
 * A shared question runs under the gate's own signal (the agent's lifetime), never under the first caller's:
 * each caller races its own signal against it, so one caller giving up does not fail the others.
 */
export class LookupGate {
  readonly #resolver: Resolver;
  readonly #floor: number;
  readonly #now: () => number;
  readonly #clock: Clock;
  readonly #signal: AbortSignal | undefined;
  readonly #inflight = new Map<string, Promise<DnsResult>>();
  readonly #last = new Map<string, number>();
  readonly #denials = new Map<string, CachedDenial>();
  /** Questions sent and not answered yet: when each went out. */
  readonly #asked = new Map<string, number>();
  /** Queries sent through this gate. */
  queries = 0;
  /** Prefer AAAA after a name had only AAAA records (IPv6-only clusters). */
  #preferV6 = false;

  /** `time`: the agent's clock (its timers space the questions), or only a time source (system timers). */
  constructor(
    resolver: Resolver,
    floor: number,
    time: Clock | (() => number) = systemClock,
    signal?: AbortSignal,
  ) {
    this.#resolver = resolver;
    this.#floor = floor;
    this.#clock = typeof time === 'function' ? clockWithNow(time) : time;
    this.#now = () => this.#clock.now();
    this.#signal = signal;
  }

  /** One question, shared with an identical one in flight, and spaced by the floor. */
  query(name: string, type: QueryType, signal?: AbortSignal): Promise<DnsResult> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const key = `${type} ${name.toLowerCase()}`;
    let run = this.#inflight.get(key);
    if (!run) {
      const last = this.#last.get(key);
      const wait = last === undefined ? 0 : last + this.#floor - this.#now();
      const own = this.#signal;
      run = (async () => {
        if (wait > 0) await sleep(wait, own, undefined, this.#clock);
        this.#last.set(key, this.#now());
        this.#asked.set(key, this.#now());
        this.queries++;
        return this.#resolver.query(name, type, own ? { signal: own } : {});
      })();
      const shared = run;
      this.#inflight.set(key, shared);
      const forget = (): void => {
        if (this.#inflight.get(key) === shared) {
          this.#inflight.delete(key);
          this.#asked.delete(key);
        }
      };
      shared.then(forget, forget);
    }
    return signal ? raceSignal(run, signal) : run;
  }

  /**
   * When the oldest unanswered question about `name` went out, or undefined when none is in flight: a timeout
   * report shorter than the resolver's own timeout (2 s × attempts) can still say the DNS is silent.
   */
  askedSince(name: string): number | undefined {
    const lower = name.toLowerCase();
    const times = [this.#asked.get(`A ${lower}`), this.#asked.get(`AAAA ${lower}`)].filter(
      (t): t is number => t !== undefined,
    );
    return times.length === 0 ? undefined : Math.min(...times);
  }

  /** The denial of `name` still cached, if one was received and its negative TTL has not run out. */
  denial(name: string): CachedDenial | undefined {
    const d = this.#denials.get(name.toLowerCase());
    if (d && d.until > this.#now()) return d;
    return undefined;
  }

  /**
   * The addresses of `name`: IP literals as they are, else A (and AAAA when A has none). With `respectDenial`
   * (the default), a name whose denial is still cached is not asked again: the cached denial comes back.
   */
  async addresses(
    name: string,
    signal?: AbortSignal,
    { respectDenial = true }: { respectDenial?: boolean } = {},
  ): Promise<AddressLookup> {
    if (ipFamily(name) !== 0) return { addresses: [name], state: 'unknown', detail: '', queries: 0 };
    const cached = respectDenial ? this.denial(name) : undefined;
    if (cached)
      return {
        addresses: [],
        state: cached.kind,
        detail: describeDenial(name, cached),
        queries: 0,
        denial: cached,
      };
    const order: QueryType[] = this.#preferV6 ? ['AAAA', 'A'] : ['A', 'AAAA'];
    let first: DnsResult | undefined;
    let queries = 0;
    let denial: CachedDenial | undefined;
    for (const type of order) {
      const result = await this.query(name, type, signal);
      queries++;
      first ??= result;
      if (result.kind === 'records') {
        const addresses = result.records.flatMap((r) =>
          r.type === 'A' || r.type === 'AAAA' ? [r.address] : [],
        );
        if (addresses.length > 0) {
          if (type === 'AAAA' && !this.#preferV6) this.#preferV6 = true;
          this.#denials.delete(name.toLowerCase());
          return {
            addresses,
            state: 'unknown',
            detail: '',
            queries,
            ttl: result.ttl,
            authoritative: result.authoritative,
          };
        }
      }
      if ((result.kind === 'nxdomain' || result.kind === 'nodata') && result.negativeTtl !== undefined) {
        // The shorter of the two denials decides when asking again can give another answer.
        const d: CachedDenial = {
          kind: denial?.kind ?? result.kind,
          until: this.#now() + result.negativeTtl * 1000,
          ttl: result.negativeTtl,
          minimum: result.soaMinimum,
          server: result.server,
        };
        if (denial === undefined || d.until < denial.until) denial = d;
      }
      // Only a NODATA for the first family is worth asking the other one; NXDOMAIN is for the name.
      if (result.kind !== 'nodata') break;
    }
    if (denial && denial.ttl > 0) {
      this.#denials.set(name.toLowerCase(), denial);
      return { addresses: [], state: denial.kind, detail: describeDenial(name, denial), queries, denial };
    }
    return { addresses: [], ...classify(first!), queries };
  }
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts; the listener never outlives it. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new AbortedError('lookup aborted', { cause: r });
}

function classify(result: DnsResult): { state: PeerStateKind; detail: string } {
  switch (result.kind) {
    case 'records':
      return { state: 'nodata', detail: '' };
    case 'nxdomain':
      return { state: 'nxdomain', detail: `from ${result.server}` };
    case 'nodata':
      if (result.cnameLoop !== undefined)
        return { state: 'cname-loop', detail: `${result.cnameLoop.join(' → ')} from ${result.server}` };
      return { state: 'nodata', detail: `from ${result.server}` };
    case 'servfail':
      return { state: 'servfail', detail: `from ${result.server}` };
    case 'refused':
      return { state: 'refused-dns', detail: `from ${result.server}` };
    case 'error':
      return { state: 'dns-error', detail: `${result.rcode} from ${result.server}` };
    case 'timeout':
      // The socket's own error (ECONNREFUSED from an ICMP port unreachable, EMFILE) is the real cause.
      return {
        state: 'dns-timeout',
        detail: `${result.reason ?? 'no answer'} from ${[...new Set(result.servers)].join(', ')}`,
      };
  }
}

/** Asked again this long after a cached denial's end, so the cache has surely dropped it. */
const DENIAL_MARGIN_MS = 50;

/** Addresses a cache serves for a name and until when (a rejected positive answer: see resolveUntil). */
export interface CachedAnswer {
  readonly addresses: readonly string[];
  /** Epoch ms: before this, asking again only gets the same addresses back. */
  readonly until: number;
  /** The remaining TTL of the answer, seconds. */
  readonly ttl: number;
}

/** `; that answer is cached until 12:00:31 (TTL 28 s left)`, or '' when the answer is not known to be cached. */
export function describeCachedAnswer(held: CachedAnswer | undefined): string {
  return held === undefined
    ? ''
    : `; that answer is cached until ${clockTime(held.until)} (TTL ${held.ttl} s left)`;
}

/**
 * Tracks the answers a name gave that were not accepted: an answer is a cache's when it is not authoritative,
 * or when the same addresses come back with a smaller TTL (a cache counts the TTL down; the zone's server
 * gives it whole — CoreDNS's cache sets AA on what it serves, so AA alone cannot tell). Asking again before a
 * cached answer's TTL has run out gets the same addresses back.
 */
export class AnswerAge {
  #last: { key: string; ttl: number } | undefined;

  /** The rejected answer `lookup`, seen at `now`: how long it stays cached, or undefined if not known cached. */
  rejected(lookup: AddressLookup, now: number): CachedAnswer | undefined {
    if (lookup.addresses.length === 0 || lookup.ttl === undefined || lookup.ttl <= 0) {
      this.#last = undefined;
      return undefined;
    }
    const key = [...lookup.addresses].sort().join(' ');
    const countsDown = this.#last?.key === key && lookup.ttl < this.#last.ttl;
    this.#last = { key, ttl: lookup.ttl };
    if (lookup.authoritative !== false && !countsDown) return undefined;
    return { addresses: lookup.addresses, until: now + lookup.ttl * 1000, ttl: lookup.ttl };
  }
}

/**
 * Resolve `name` until `accept` likes the addresses (retryUntil: full-jitter backoff from `policy`, cut short by
 * `waker`, bounded by `deadline` and `signal`). A cached denial is waited out, never cut short nor asked again
 * before it ends. `onMiss` sees every unsuccessful lookup. Resolves to the addresses, or undefined when the
 * deadline passed first. The first question is asked before the retry loop is set up: most names asked resolve
 * at once (a mesh member checks 62 names the coordinator already checked, at N=64), and then p-retry's promises,
 * signal listeners and timers are not made at all.
 */
export async function resolveUntil(
  gate: LookupGate,
  name: string,
  accept: (addresses: readonly string[]) => boolean,
  options: {
    policy: () => BackoffPolicy;
    deadline: number;
    signal: AbortSignal;
    waker?: Waker | undefined;
    /** Default true: a cached denial is waited out, not asked again (see LookupGate.addresses). */
    respectDenial?: boolean;
    /** Every unsuccessful lookup; `held` when its addresses are a cache's answer, served until `held.until`. */
    onMiss?: ((lookup: AddressLookup, held?: CachedAnswer) => void) | undefined;
    clock?: Clock | undefined;
    random?: () => number;
  },
): Promise<readonly string[] | undefined> {
  const clock = options.clock ?? systemClock;
  const respectDenial = options.respectDenial !== false;
  const ask = (): Promise<AddressLookup> => gate.addresses(name, options.signal, { respectDenial });
  const accepted = (lookup: AddressLookup): boolean =>
    lookup.addresses.length > 0 && accept(lookup.addresses);
  // The loop's first attempt takes this answer instead of asking again: one question per attempt, as before.
  let first: AddressLookup | undefined = await ask();
  if (accepted(first)) return first.addresses;
  // Addresses that are not the ones wanted, from a cache: not asked again before their TTL runs out (a
  // restarted pod's old address stays cached for the TTL, up to 30 s; polling it meanwhile only loads the cache).
  const age = new AnswerAge();
  let held: CachedAnswer | undefined;
  return retryUntil(
    async () => {
      const lookup = first ?? (await ask());
      first = undefined;
      if (accepted(lookup)) return lookup.addresses;
      held = age.rejected(lookup, clock.now());
      options.onMiss?.(lookup, held);
      throw new NotYet(name);
    },
    {
      policy: options.policy,
      deadline: options.deadline,
      signal: options.signal,
      waker: options.waker,
      clock,
      random: options.random,
      onRetry: () => {
        // A cached denial is not asked again before it runs out: the cache would only repeat it.
        const denied = respectDenial ? gate.denial(name) : undefined;
        const until = denied?.until ?? held?.until;
        return until === undefined
          ? undefined
          : { atLeastMs: until - clock.now() + DENIAL_MARGIN_MS, wakeable: false };
      },
    },
  );
}
