// Mesh: who dials whom (one probe connection per pair of members), and the dialled end's record of the probes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dialsPeer, meshDialler } from '../../src/rendezvous/mesh-pairs.js';
import { InboundProbes } from '../../src/rendezvous/mesh-probe.js';
import { ManualClock } from '../helpers/manual-clock.js';

describe('meshDialler', () => {
  it('picks one of the two, the same whichever way the pair is asked', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999_999 }), fc.integer({ min: 1, max: 999_999 }), (a, b) => {
        fc.pre(a !== b);
        const d = meshDialler(a, b);
        expect([a, b]).toContain(d);
        expect(meshDialler(b, a)).toBe(d);
        // Exactly one end dials, the other waits for its probe.
        expect(Number(dialsPeer(a, b)) + Number(dialsPeer(b, a))).toBe(1);
      }),
    );
  });

  it('never has a member dial itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999_999 }), (a) => {
        expect(dialsPeer(a, a)).toBe(false);
      }),
    );
  });

  it('spreads the dialling: every member of a job dials about half of the other members', () => {
    for (let n = 2; n <= 300; n++) {
      const members = Array.from({ length: n - 1 }, (_, i) => i + 1);
      let pairs = 0;
      for (const a of members) {
        const dials = members.filter((b) => dialsPeer(a, b)).length;
        pairs += dials;
        // n − 2 others: within one of half of them.
        expect(Math.abs(dials - (n - 2) / 2)).toBeLessThanOrEqual(1);
      }
      expect(pairs).toBe(((n - 1) * (n - 2)) / 2);
    }
  });

  it('is the documented rule: the lower index on an odd sum, the higher on an even one', () => {
    expect(meshDialler(1, 2)).toBe(1);
    expect(meshDialler(2, 3)).toBe(2);
    expect(meshDialler(1, 3)).toBe(3);
    expect(meshDialler(63, 1)).toBe(63);
    expect(meshDialler(62, 1)).toBe(1);
  });
});

describe('InboundProbes (the probes other members made of this one)', () => {
  const slot = { index: 3, incarnation: 'aaaa', address: '10.0.0.3' };

  it('tells a probe of that incarnation from that address from one elsewhere or of another incarnation', () => {
    const p = new InboundProbes();
    expect(p.verdict(slot)).toBeUndefined();
    p.record(3, 'old', '10.0.0.3');
    expect(p.verdict(slot)).toBeUndefined(); // an earlier incarnation proves nothing of this one
    p.record(3, 'aaaa', '10.0.9.9');
    expect(p.verdict(slot)).toBe('elsewhere');
    p.record(3, 'aaaa', '10.0.0.3');
    expect(p.verdict(slot)).toBe('proved');
    expect(p.verdict({ ...slot, index: 4 })).toBeUndefined();
  });

  it('wakes a waiting check when the probe comes, and only that one', async () => {
    const clock = new ManualClock();
    const p = new InboundProbes();
    const signal = new AbortController().signal;
    const three = p.wait(slot, clock.now() + 5000, clock, signal);
    const four = p.wait({ ...slot, index: 4 }, clock.now() + 5000, clock, signal);
    p.record(3, 'aaaa', '10.0.0.3');
    expect(await three).toBe('proved');
    await clock.advance(5000);
    expect(await four).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it('a probe that came before the wait counts at once; the wait ends at its time or on abort', async () => {
    const clock = new ManualClock();
    const p = new InboundProbes();
    p.record(3, 'aaaa', '10.0.0.3');
    expect(await p.wait(slot, clock.now() + 5000, clock, new AbortController().signal)).toBe('proved');
    const other = { ...slot, incarnation: 'bbbb' };
    const late = p.wait(other, clock.now() + 5000, clock, new AbortController().signal);
    await clock.advance(4999);
    let settled = false;
    late.then(() => {
      settled = true;
    });
    await clock.settle();
    expect(settled).toBe(false);
    await clock.advance(1);
    expect(await late).toBeUndefined();
    const ac = new AbortController();
    const aborted = p.wait(other, clock.now() + 5000, clock, ac.signal);
    ac.abort();
    expect(await aborted).toBeUndefined();
    expect(clock.pending).toBe(0);
  });
});
