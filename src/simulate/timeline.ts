// A run's time line (runSimulation, runNetnsJob): milliseconds since its start, events scheduled on it whose
// first error ends the run, and a wait for the next thing that happened (an event, a pod's exit, an abort).

/** Milliseconds since the run started, its scheduled events, and the run loop's wake-up. */
export class Timeline {
  /** performance.now() at the start. */
  readonly t0 = performance.now();
  /** The first error an event threw (or the run recorded): the run stops and throws it. */
  failure: unknown;
  readonly #timers = new Set<NodeJS.Timeout>();
  #pending = 0;
  #wake: () => void = () => {};

  /** Milliseconds since the start. */
  now(): number {
    return performance.now() - this.t0;
  }

  /**
   * Run `fn` at `atMs` on the time line (at once when that is past), then wake the loop. An error it throws
   * becomes {@link failure}. A `blocking` event counts in {@link pending} until it finished.
   */
  at(atMs: number, fn: () => void | Promise<void>, blocking = false): void {
    if (blocking) this.#pending++;
    this.#arm(atMs, fn, blocking);
  }

  // setTimeout may fire a fraction of a millisecond before performance.now() says the time came (it
  // rounds): an event that is early waits out the rest, so nothing on the time line happens before its time.
  #arm(atMs: number, fn: () => void | Promise<void>, blocking: boolean): void {
    const t = setTimeout(
      () => {
        this.#timers.delete(t);
        if (this.now() < atMs) {
          this.#arm(atMs, fn, blocking);
          return;
        }
        Promise.resolve()
          .then(fn)
          .catch((error: unknown) => {
            this.failure ??= error;
          })
          .finally(() => {
            if (blocking) this.#pending--;
            this.wake();
          });
      },
      Math.max(0, atMs - this.now()),
    );
    this.#timers.add(t);
  }

  /** Blocking events not finished yet. */
  get pending(): number {
    return this.#pending;
  }

  /** Let the loop waiting in {@link next} look again. */
  wake(): void {
    this.#wake();
  }

  /** Resolves at the next {@link wake} (every event wakes it when it finished). */
  next(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
  }

  /** Cancel the events that have not fired. */
  clear(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
