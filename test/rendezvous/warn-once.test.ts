// Warn-once memory (src/rendezvous/warn-once.ts): once per key, bounded, one "and more" past the cap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_WARNED, WarnOnce } from '../../src/rendezvous/warn-once.js';

describe('WarnOnce', () => {
  it('warns once per key for the first MAX_WARNED keys, then once "more", then never', () => {
    const w = new WarnOnce();
    const said = Array.from({ length: MAX_WARNED + 50 }, (_, i) => w.take(`10.0.${i >> 8}.${i & 255}`));
    expect(said.slice(0, MAX_WARNED).every((s) => s === 'warn')).toBe(true);
    expect(said[MAX_WARNED]).toBe('more');
    expect(said.slice(MAX_WARNED + 1).every((s) => s === undefined)).toBe(true);
    expect(w.take('10.0.0.0')).toBeUndefined(); // said already
    expect(w.size).toBe(MAX_WARNED);
  });

  it('for any sequence of keys: one warn per new key up to the cap, one more at most, memory bounded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 0, max: 20 })), (max, keys) => {
        const w = new WarnOnce(max);
        const said = keys.map((k) => w.take(String(k)));
        const distinct = [...new Set(keys)];
        expect(said.filter((s) => s === 'warn')).toHaveLength(Math.min(max, distinct.length));
        expect(said.filter((s) => s === 'more')).toHaveLength(distinct.length > max ? 1 : 0);
        // The first occurrence of each of the first `max` distinct keys is the warning.
        for (const k of distinct.slice(0, max)) expect(said[keys.indexOf(k)]).toBe('warn');
        expect(w.size).toBeLessThanOrEqual(max);
      }),
      { numRuns: 500 },
    );
  });
});
