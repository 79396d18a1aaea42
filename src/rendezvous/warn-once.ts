// Warnings said once per key (an address), with a bounded memory: a flood from many addresses must not grow
// the agent without limit. After MAX_WARNED keys, one last "and more" warning, then silence.

/** Keys remembered (and warned about) at most. */
export const MAX_WARNED = 256;

/** Remembers whom it warned about, up to `max` keys. */
export class WarnOnce {
  readonly #seen = new Set<string>();
  readonly #max: number;
  #full = false;

  constructor(max: number = MAX_WARNED) {
    this.#max = max;
  }

  /**
   * What to say for `key`: `warn` the first time (for the first `max` keys), `more` once for the first key
   * past the cap, `undefined` otherwise (already said, or past the cap).
   */
  take(key: string): 'warn' | 'more' | undefined {
    if (this.#seen.has(key)) return undefined;
    if (this.#seen.size < this.#max) {
      this.#seen.add(key);
      return 'warn';
    }
    if (this.#full) return undefined;
    this.#full = true;
    return 'more';
  }

  /** Keys remembered now (at most `max`). */
  get size(): number {
    return this.#seen.size;
  }
}

/** The warning for a source whose unauthenticated connections were shed (`take()`'s answer for it). */
export function shedWarning(say: 'warn' | 'more', source: string, why: string): string {
  return say === 'warn'
    ? `shedding unauthenticated connections from ${source} (${why}): an idle or hostile client on the rendezvous port? (said once per address)`
    : `shedding unauthenticated connections from more than ${MAX_WARNED} addresses (${source} and others, ${why}): not said again`;
}
