// Name lookups as the agent makes them: A then AAAA, deduplicated, rate-limited per name, counted.
import pRetry from 'p-retry';
import { ipFamily } from '../dns/ip-bytes.js';
import type { DnsResult, QueryType, Resolver } from '../dns/types.js';
import { type BackoffPolicy, backoffDelay } from './backoff.js';
import type { PeerStateKind } from './peer-state.js';
import { sleep, type Waker } from './sleep.js';

/** A lookup's outcome reduced to what the barrier needs. */
export interface AddressLookup {
  readonly addresses: readonly string[];
  /** The state to report when there are no addresses (or `ready`-ish `unknown` when there are). */
  readonly state: PeerStateKind;
  readonly detail: string;
  /** DNS queries this lookup sent (0 for IP literals and shared in-flight answers). */
  readonly queries: number;
}

/**
 * Wraps a Resolver for one agent: identical questions in flight are shared, the same question is never sent
 * again sooner than `floor` ms, and queries are counted.
 */
export class LookupGate {
  readonly #resolver: Resolver;
  readonly #floor: number;
  readonly #now: () => number;
  readonly #inflight = new Map<string, Promise<DnsResult>>();
  readonly #last = new Map<string, number>();
  /** Questions sent and not answered yet: when each went out. */
  readonly #asked = new Map<string, number>();
  /** Queries sent through this gate. */
  queries = 0;
  /** Prefer AAAA after a name had only AAAA records (IPv6-only clusters). */
  #preferV6 = false;

  constructor(resolver: Resolver, floor: number, now: () => number = Date.now) {
    this.#resolver = resolver;
    this.#floor = floor;
    this.#now = now;
  }

  /** One question, shared with an identical one in flight, and spaced by the floor. */
  async query(name: string, type: QueryType, signal?: AbortSignal): Promise<DnsResult> {
    const key = `${type} ${name.toLowerCase()}`;
    const shared = this.#inflight.get(key);
    if (shared) return shared;
    const last = this.#last.get(key);
    const wait = last === undefined ? 0 : last + this.#floor - this.#now();
    const run = (async () => {
      if (wait > 0) await sleep(wait, signal);
      this.#last.set(key, this.#now());
      this.#asked.set(key, this.#now());
      this.queries++;
      return this.#resolver.query(name, type, signal ? { signal } : {});
    })();
    this.#inflight.set(key, run);
    try {
      return await run;
    } finally {
      this.#inflight.delete(key);
      this.#asked.delete(key);
    }
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

  /** The addresses of `name`: IP literals as they are, else A (and AAAA when A has none). */
  async addresses(name: string, signal?: AbortSignal): Promise<AddressLookup> {
    if (ipFamily(name) !== 0) return { addresses: [name], state: 'unknown', detail: '', queries: 0 };
    const order: QueryType[] = this.#preferV6 ? ['AAAA', 'A'] : ['A', 'AAAA'];
    let first: DnsResult | undefined;
    let queries = 0;
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
          return { addresses, state: 'unknown', detail: '', queries };
        }
      }
      // Only a NODATA for the first family is worth asking the other one; NXDOMAIN is for the name.
      if (result.kind !== 'nodata') break;
    }
    return { addresses: [], ...classify(first!), queries };
  }
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

/** Thrown inside a retry loop: not there yet, try again. */
class NotYet extends Error {}

/**
 * Resolve `name` until `accept` likes the addresses, retrying through p-retry with full-jitter backoff from
 * `policy` (the delay happens in onFailedAttempt so the jitter is ours), cut short by `waker`, bounded by
 * `deadline` and `signal`. `onMiss` sees every unsuccessful lookup. Resolves to the addresses, or undefined
 * when the deadline passed first.
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
    onMiss?: ((lookup: AddressLookup) => void) | undefined;
    now?: () => number;
    random?: () => number;
  },
): Promise<readonly string[] | undefined> {
  const now = options.now ?? Date.now;
  try {
    return await pRetry(
      async () => {
        const lookup = await gate.addresses(name, options.signal);
        if (lookup.addresses.length > 0 && accept(lookup.addresses)) return lookup.addresses;
        options.onMiss?.(lookup);
        throw new NotYet(name);
      },
      {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: 0,
        maxRetryTime: Math.max(0, options.deadline - now()),
        signal: options.signal,
        shouldRetry: ({ error }) => error instanceof NotYet,
        onFailedAttempt: async ({ attemptNumber }) => {
          const delay = Math.min(
            backoffDelay(options.policy(), attemptNumber, options.random),
            Math.max(0, options.deadline - now()),
          );
          await sleep(delay, options.signal, options.waker);
        },
      },
    );
  } catch (error) {
    if (error instanceof NotYet) return undefined;
    throw error;
  }
}
