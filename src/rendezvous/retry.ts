// The one retry loop of the agent: p-retry drives the attempts, our backoff (full jitter, floor, cap) and our
// injected clock decide the waits, a Waker may cut a wait short, a deadline ends it.
import pRetry from 'p-retry';
import { type BackoffPolicy, backoffDelay } from './backoff.js';
import { type Clock, systemClock } from './clock.js';
import { sleep, type Waker } from './sleep.js';

/** Thrown by an attempt to say "not yet, try again" (any other error ends the loop unless `retryable` says so). */
export class NotYet extends Error {
  constructor(message = 'not yet') {
    super(message);
    this.name = 'NotYet';
  }
}

export interface RetryOptions {
  /** The schedule of the waits; a function is asked again before each wait (policies that change over time). */
  readonly policy: BackoffPolicy | (() => BackoffPolicy);
  /** Epoch ms: no attempt starts after it; the loop then resolves to undefined. */
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly clock?: Clock | undefined;
  readonly random?: (() => number) | undefined;
  /** Cuts a wait short (an event made the next attempt worth trying now). */
  readonly waker?: Waker | undefined;
  /** Which failures are retried (default: NotYet only); any other is thrown to the caller. */
  readonly retryable?: ((error: unknown) => boolean) | undefined;
  /**
   * Sees each retried failure before the wait (to report it). It may return the wait's lower bound in ms and
   * whether the Waker may cut it (a cached DNS denial must be waited out whatever happens).
   */
  readonly onRetry?:
    | ((error: unknown, attempt: number) => RetryAdvice | undefined | Promise<RetryAdvice | undefined>)
    | undefined;
}

/** What onRetry may say about the coming wait. */
export interface RetryAdvice {
  /** The wait's lower bound, ms. */
  readonly atLeastMs?: number;
  /** false: the Waker may not cut this wait short. */
  readonly wakeable?: boolean;
}

/** The wait before attempt `attempt + 1`: the policy's jittered delay, at least `atLeastMs`, never past the deadline. */
export function retryDelay(
  policy: BackoffPolicy,
  attempt: number,
  leftMs: number,
  random: () => number,
  atLeastMs = 0,
): number {
  return Math.max(0, Math.min(Math.max(backoffDelay(policy, attempt, random), atLeastMs), leftMs));
}

/**
 * Run `attempt` until it returns, retrying the failures `retryable` accepts with backoff waits. Resolves to
 * the attempt's value, or undefined once the deadline passed; rejects with a failure that is not retried, or
 * with the signal's reason on abort.
 */
export async function retryUntil<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: RetryOptions,
): Promise<T | undefined> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const retryable = options.retryable ?? ((error: unknown) => error instanceof NotYet);
  const policy =
    typeof options.policy === 'function' ? options.policy : () => options.policy as BackoffPolicy;
  let expired = false;
  let number = 0;
  try {
    return await pRetry(() => attempt(++number), {
      retries: Number.POSITIVE_INFINITY,
      // The waits are ours (jitter, floor, the injected clock): p-retry's own delay stays 0 and sets no timer.
      minTimeout: 0,
      signal: options.signal,
      shouldRetry: ({ error }) => {
        if (!retryable(error)) return false;
        if (clock.now() >= options.deadline) {
          expired = true;
          return false;
        }
        return true;
      },
      onFailedAttempt: async ({ error, attemptNumber }) => {
        // Called before shouldRetry: only failures that are retried (and not past the deadline) wait here.
        if (!retryable(error) || clock.now() >= options.deadline) return;
        const said = await options.onRetry?.(error, attemptNumber);
        const left = options.deadline - clock.now();
        const ms = retryDelay(policy(), attemptNumber, left, random, said?.atLeastMs ?? 0);
        await sleep(ms, options.signal, said?.wakeable === false ? undefined : options.waker, clock);
      },
    });
  } catch (error) {
    if (expired || (retryable(error) && clock.now() >= options.deadline)) return undefined;
    throw error;
  }
}
