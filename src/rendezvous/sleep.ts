// Interruptible waits: a timer that an AbortSignal cancels and a Waker cuts short.
import { type Clock, systemClock } from './clock.js';

/** Lets an event (a peer connecting, a coordinator announcing itself) end a backoff wait early. */
export class Waker {
  #waiters = new Set<() => void>();
  #pending = false;

  /** Wake every current sleeper; if none sleeps, the next sleep returns at once. */
  wake(): void {
    if (this.#waiters.size === 0) {
      this.#pending = true;
      return;
    }
    for (const w of [...this.#waiters]) w();
  }

  /** @internal used by sleep(). */
  take(): boolean {
    const p = this.#pending;
    this.#pending = false;
    return p;
  }

  /** @internal */
  add(fn: () => void): void {
    this.#waiters.add(fn);
  }

  /** @internal */
  delete(fn: () => void): void {
    this.#waiters.delete(fn);
  }
}

/** Wait `ms`, or less if `waker` fires; rejects with the signal's reason on abort. Cleans up on every path. */
export function sleep(
  ms: number,
  signal?: AbortSignal,
  waker?: Waker,
  clock: Clock = systemClock,
): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (waker?.take()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      waker?.delete(done);
      resolve();
    };
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      waker?.delete(done);
      reject(signal?.reason);
    };
    const timer = clock.setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
    waker?.add(done);
  });
}
