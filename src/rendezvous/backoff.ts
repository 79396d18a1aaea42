// Backoff arithmetic: capped exponential delays with full jitter (AWS "Exponential Backoff and Jitter").

/** A retry schedule: attempt n (1-based) waits a uniform random time in [0, min(cap, first·factor^(n-1))]. */
export interface BackoffPolicy {
  /** Upper bound of the first delay, ms. */
  readonly first: number;
  /** Growth of the upper bound per attempt. */
  readonly factor: number;
  /** Largest upper bound, ms. */
  readonly cap: number;
  /** Smallest delay ever returned, ms: one agent never repeats a question faster than this. */
  readonly floor: number;
}

/**
 * Blind polling of a name whose owner has not shown any sign of life: slow, so a thousand waiting agents do
 * not flood the cluster DNS. Events (a peer connecting, a coordinator announcing itself) cut the wait short.
 */
export const BLIND_POLL: BackoffPolicy = { first: 5000, factor: 2, cap: 15_000, floor: 50 };

/**
 * Polling of a name whose owner is known to be alive (it connected to us or announced itself): its record is
 * imminent, so poll fast with a low cap.
 */
export const LIVE_POLL: BackoffPolicy = { first: 10, factor: 2, cap: 50, floor: 10 };

/**
 * LIVE_POLL for the first seconds after the owner showed up, then slower: a record that does not come
 * (an init container without publishNotReadyAddresses) must not cost the cluster DNS 30 questions a second
 * for the whole timeout.
 */
export function livePoll(aliveForMs: number): BackoffPolicy {
  if (aliveForMs < 5_000) return LIVE_POLL;
  if (aliveForMs < 30_000) return { ...LIVE_POLL, cap: 500 };
  return { ...LIVE_POLL, cap: 2_000 };
}

/** Service-name discovery by the coordinator: one poller per job, moderate cap. */
export const DISCOVERY_POLL: BackoffPolicy = { first: 25, factor: 2, cap: 250, floor: 25 };

/**
 * DISCOVERY_POLL while members are joining (the last join or leave under 5 s ago), then slower: a member that
 * never comes must not cost one question every 250 ms for the whole timeout. `perName` (an explicit --peers
 * list: one question per missing member each round) starts with a 2 s cap.
 */
export function discoveryPoll(quietForMs: number, perName: boolean): BackoffPolicy {
  const base = perName ? { ...DISCOVERY_POLL, cap: 2000 } : DISCOVERY_POLL;
  if (quietForMs < 5_000) return base;
  if (quietForMs < 30_000) return { ...base, cap: Math.max(base.cap, 1000) };
  return { ...base, cap: 5000 };
}

/** Connection retries to an address that refused or reset. */
export const CONNECT_RETRY: BackoffPolicy = { first: 50, factor: 2, cap: 1000, floor: 20 };

/** Check a policy, naming the bad field (as p-retry does: `Expected \`first\` to be …`). */
export function validatePolicy(policy: BackoffPolicy): BackoffPolicy {
  for (const key of ['first', 'factor', 'cap', 'floor'] as const) {
    const v = policy[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new TypeError(`Expected \`${key}\` to be a finite non-negative number, got ${String(v)}`);
    }
  }
  if (policy.factor < 1) throw new TypeError(`Expected \`factor\` to be ≥ 1, got ${policy.factor}`);
  if (policy.floor > policy.cap)
    throw new TypeError(`Expected \`floor\` (${policy.floor}) ≤ \`cap\` (${policy.cap})`);
  return policy;
}

/** The upper bound of the delay before attempt `attempt + 1`, after `attempt` failures (attempt ≥ 1). */
export function backoffCeiling(policy: BackoffPolicy, attempt: number): number {
  const n = Math.max(1, Math.floor(attempt));
  // factor^(n-1) overflows to Infinity for large n; min() keeps the cap.
  return Math.min(policy.cap, policy.first * policy.factor ** (n - 1));
}

/** Full-jitter delay after `attempt` failures: uniform in [floor, ceiling], `random` in [0, 1). */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeiling(policy, attempt);
  const r = random();
  const unit = r >= 0 && r < 1 ? r : 0;
  return Math.max(policy.floor, Math.min(ceiling, Math.round(unit * ceiling)));
}
