// retryUntil on an injected clock: the waits it takes (backoff, floor, cap, deadline), what ends it, and what
// cuts a wait short. No real time passes: every wait is a ManualClock timer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BackoffPolicy, backoffCeiling } from '../../src/rendezvous/backoff.js';
import { NotYet, retryDelay, retryUntil } from '../../src/rendezvous/retry.js';
import { Waker } from '../../src/rendezvous/sleep.js';
import { ManualClock } from '../helpers/manual-clock.js';

const POLICY: BackoffPolicy = { first: 100, factor: 2, cap: 1000, floor: 10 };

/** Run retryUntil to its end on a manual clock, recording when each attempt started. */
async function drive<T>(
  clock: ManualClock,
  attempt: (n: number) => Promise<T>,
  options: Partial<Parameters<typeof retryUntil>[1]> & { deadline: number },
): Promise<{ result: T | undefined; error: unknown; times: number[] }> {
  const times: number[] = [];
  let settled = false;
  let result: T | undefined;
  let error: unknown;
  retryUntil(
    (n) => {
      times.push(clock.now());
      return attempt(n);
    },
    { policy: POLICY, signal: new AbortController().signal, clock, random: () => 0.999999, ...options },
  ).then(
    (r) => {
      settled = true;
      result = r;
    },
    (e: unknown) => {
      settled = true;
      error = e;
    },
  );
  for (let i = 0; i < 1000 && !settled; i++) {
    const next = clock.nextAt();
    await clock.advance(next === undefined ? 0 : next - clock.now());
  }
  expect(settled).toBe(true);
  return { result, error, times };
}

describe('retryUntil', () => {
  it('waits the policy’s ceiling with random → 1: 100, 200, 400, 800, then the 1000 ms cap', async () => {
    const clock = new ManualClock(0);
    const { result, times } = await drive(
      clock,
      async (n) => {
        if (n < 7) throw new NotYet();
        return 'ok';
      },
      { deadline: 1_000_000 },
    );
    expect(result).toBe('ok');
    expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('never waits less than the floor (random → 0)', async () => {
    const clock = new ManualClock(0);
    const { times } = await drive(
      clock,
      async (n) => {
        if (n < 4) throw new NotYet();
      },
      { deadline: 1_000_000, random: () => 0 },
    );
    expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual([10, 10, 10]);
  });

  it('resolves to undefined at the deadline: the last wait is cut to it, and no attempt starts at or after it', async () => {
    const clock = new ManualClock(0);
    const { result, error, times } = await drive(
      clock,
      async () => {
        throw new NotYet();
      },
      { deadline: 1000 },
    );
    expect(error).toBeUndefined();
    expect(result).toBeUndefined();
    // 0, 100, 300, 700, then the 800 ms wait is cut to the deadline (1000), where the loop ends: the
    // caller's deadline report takes over from there.
    expect(times).toEqual([0, 100, 300, 700]);
    expect(clock.now()).toBe(1000);
    expect(clock.pending).toBe(0);
  });

  it('throws a failure that is not retried at once, without waiting', async () => {
    const clock = new ManualClock(0);
    const boom = new Error('boom');
    const { error, times } = await drive(
      clock,
      async () => {
        throw boom;
      },
      { deadline: 10_000 },
    );
    expect(error).toBe(boom);
    expect(times).toEqual([0]);
  });

  it('retries whatever `retryable` accepts, and tells onRetry each failure', async () => {
    const clock = new ManualClock(0);
    const seen: string[] = [];
    const { result } = await drive(
      clock,
      async (n) => {
        if (n < 3) throw new Error(`fail ${n}`);
        return n;
      },
      {
        deadline: 10_000,
        retryable: () => true,
        onRetry: (e, n) => {
          seen.push(`${n}:${(e as Error).message}`);
          return undefined;
        },
      },
    );
    expect(result).toBe(3);
    expect(seen).toEqual(['1:fail 1', '2:fail 2']);
  });

  it('an abort during a wait rejects with the signal’s reason and leaves no timer behind', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    const reason = new Error('stop');
    const p = retryUntil(
      async () => {
        throw new NotYet();
      },
      { policy: POLICY, deadline: 100_000, signal: ac.signal, clock, random: () => 0.5 },
    );
    await clock.advance(10);
    expect(clock.pending).toBe(1);
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(clock.pending).toBe(0);
  });

  it('a Waker cuts a wait short, unless onRetry says the wait may not be cut (a cached denial)', async () => {
    for (const wakeable of [true, false]) {
      const clock = new ManualClock(0);
      const waker = new Waker();
      const times: number[] = [];
      const p = retryUntil(
        async (n) => {
          times.push(clock.now());
          if (n < 2) throw new NotYet();
          return n;
        },
        {
          policy: POLICY,
          deadline: 100_000,
          signal: new AbortController().signal,
          clock,
          random: () => 0.999999,
          waker,
          onRetry: () => ({ atLeastMs: 5000, wakeable }),
        },
      );
      await clock.advance(1);
      waker.wake();
      await clock.advance(0);
      if (wakeable) {
        await expect(p).resolves.toBe(2);
        expect(times).toEqual([0, 1]);
      } else {
        expect(times).toEqual([0]);
        await clock.advance(5000);
        await expect(p).resolves.toBe(2);
        expect(times).toEqual([0, 5000]);
      }
    }
  });

  it('property: every wait lies in [min(floor, left), min(max(ceiling, floor, atLeast), left)], and no attempt is past the deadline', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          first: fc.integer({ min: 0, max: 500 }),
          factor: fc.double({ min: 1, max: 4, noNaN: true }),
          cap: fc.integer({ min: 1, max: 3000 }),
          floorShare: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 400 }),
        async (p, deadline, randoms, atLeast) => {
          const policy: BackoffPolicy = {
            first: p.first,
            factor: p.factor,
            cap: p.cap,
            floor: Math.floor(p.cap * p.floorShare),
          };
          const clock = new ManualClock(0);
          let r = 0;
          const { times } = await drive(
            clock,
            async (n) => {
              if (n > 30) return 'enough';
              throw new NotYet();
            },
            {
              policy,
              deadline,
              random: () => randoms[r++ % randoms.length]!,
              onRetry: () => ({ atLeastMs: atLeast }),
            },
          );
          for (let i = 1; i < times.length; i++) {
            const wait = times[i]! - times[i - 1]!;
            const left = deadline - times[i - 1]!;
            expect(times[i]!).toBeLessThan(deadline);
            // (1e-6: the times are sums of fractional waits.)
            expect(wait).toBeLessThanOrEqual(
              Math.min(Math.max(backoffCeiling(policy, i), policy.floor, atLeast), left) + 1e-6,
            );
            expect(wait).toBeGreaterThanOrEqual(Math.min(policy.floor, left) - 1e-6);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('retryDelay: the deadline wins over the lower bound, the lower bound over the jitter', () => {
    expect(retryDelay(POLICY, 1, 50, () => 0.999, 0)).toBe(50);
    expect(retryDelay(POLICY, 1, 10_000, () => 0, 700)).toBe(700);
    expect(retryDelay(POLICY, 1, 300, () => 0, 700)).toBe(300);
    expect(retryDelay(POLICY, 1, -5, () => 0.5, 0)).toBe(0);
  });
});
