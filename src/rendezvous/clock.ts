// The agent's sense of time, injected: `now` and one-shot timers. Production uses the system's; the tests of
// backoff, deadlines and the barrier's timers drive a manual one (test/helpers/manual-clock.ts).

/** An opaque handle of a timer set with a Clock. */
export type TimerHandle = unknown;

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Call `fn` once, `ms` from now (a negative `ms` is 0). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(timer: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** A clock whose `now` is `now` and whose timers are the system's (callers that inject only a time source). */
export function clockWithNow(now: () => number): Clock {
  return now === Date.now ? systemClock : { ...systemClock, now };
}

/** Run `fn` every `ms` until the returned function is called (setInterval on an injected clock). */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  let timer: TimerHandle | undefined;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    fn();
    if (!stopped) timer = clock.setTimeout(tick, ms);
  };
  timer = clock.setTimeout(tick, ms);
  return () => {
    stopped = true;
    if (timer !== undefined) clock.clearTimeout(timer);
  };
}
