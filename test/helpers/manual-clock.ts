// A Clock whose time moves only when the test says: timers fire in time order as it advances, and the
// promises they settle get to run between timers (a few macrotask turns each).
import type { Clock, TimerHandle } from '../../src/rendezvous/clock.js';

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Pending>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now = (): number => this.#now;

  setTimeout = (fn: () => void, ms: number): TimerHandle => {
    const id = ++this.#seq;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), fn });
    return id;
  };

  clearTimeout = (timer: TimerHandle): void => {
    this.#timers.delete(timer as number);
  };

  /** Timers not fired yet. */
  get pending(): number {
    return this.#timers.size;
  }

  /** When the next timer is due (undefined: none). */
  nextAt(): number | undefined {
    let at: number | undefined;
    for (const t of this.#timers.values()) if (at === undefined || t.at < at) at = t.at;
    return at;
  }

  /** Let settled promises run (real macrotask turns; no real time passes for the code under test). */
  async settle(turns = 5): Promise<void> {
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Move time forward by `ms`, firing every timer due on the way, in order. At most `maxTimers` fire. */
  async advance(ms: number, maxTimers = 100_000): Promise<void> {
    const end = this.#now + ms;
    await this.settle();
    for (let fired = 0; fired < maxTimers; fired++) {
      const next = [...this.#timers.values()]
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      await this.settle();
    }
    this.#now = end;
    await this.settle();
  }
}
