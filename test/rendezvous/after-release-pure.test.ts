// The pure parts of the late-pod verdict: the refusal clock, the time format, the message, and the wire shape
// of the `released` reject and the `rejoin` purpose.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/exit-codes.js';
import {
  formatClock,
  RefusalWatch,
  ReleasedWithoutThisPodError,
} from '../../src/rendezvous/after-release.js';
import { ProtocolError } from '../../src/rendezvous/frames.js';
import { PROTOCOL_VERSION, parseMessage } from '../../src/rendezvous/messages.js';

describe('RefusalWatch', () => {
  it('expires only after the bound of unbroken refusals; an answer restarts the clock; 0 never expires', () => {
    let t = 1_000;
    const w = new RefusalWatch(3000, () => t);
    expect(w.expired()).toBe(false);
    w.refused('x');
    t += 2999;
    w.refused('x');
    expect(w.expired()).toBe(false);
    t += 1;
    expect(w.expired()).toBe(true);
    w.answered();
    expect(w.expired()).toBe(false);
    expect(w.since).toBeUndefined();
    w.refused('y');
    expect(w.since).toBe(t);
    const off = new RefusalWatch(0, () => t);
    off.refused('z');
    t += 1e9;
    expect(off.expired()).toBe(false);
  });

  it('for any sequence of refusals and answers, expires iff the refusals since the last answer span the bound', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 5000 }), refused: fc.boolean() }), {
          maxLength: 30,
        }),
        (bound, steps) => {
          let t = 0;
          const w = new RefusalWatch(bound, () => t);
          let since: number | undefined;
          for (const s of steps) {
            t += s.dt;
            if (s.refused) {
              w.refused('a');
              since ??= t;
            } else {
              w.answered();
              since = undefined;
            }
            expect(w.expired()).toBe(since !== undefined && t - since >= bound);
          }
        },
      ),
    );
  });

  it('describes what refused, since when (UTC clock) and for how long', () => {
    let t = 0;
    const w = new RefusalWatch(1000, () => t);
    w.refused("the coordinator's agent at 10.0.0.1:29600");
    t = 30_000;
    expect(w.describe()).toMatch(
      /^the coordinator's agent at 10\.0\.0\.1:29600 refused every connection since \d\d:\d\d:\d\d UTC \(30 s\) while the name resolves$/,
    );
  });
});

describe('formatClock', () => {
  it('prints HH:MM:SS UTC today, with the date otherwise', () => {
    const at = Date.UTC(2026, 11, 2, 12, 0, 3);
    expect(formatClock(at, at + 1000)).toBe('12:00:03 UTC');
    expect(formatClock(at, at + 86_400_000)).toBe('2026-12-02 12:00:03 UTC');
  });
});

describe('ReleasedWithoutThisPodError', () => {
  it('names the release time and generation when known, the index, the fix; exit 75', () => {
    const at = Date.UTC(2026, 11, 2, 12, 0, 3);
    const e = new ReleasedWithoutThisPodError({
      index: 2,
      evidence: 'released-reject',
      generation: 'ab12',
      releasedAt: at,
    });
    expect(e.code).toBe('RDV_ERR_RELEASED');
    expect(e.message).toContain(
      `the other pods were released at ${formatClock(at)} (generation ab12) and run the workload`,
    );
    expect(e.message).toContain('this pod (index 2) is a replacement and cannot join a one-shot barrier');
    expect(e.message).toMatch(/podFailurePolicy with action FailJob.*JobSet.*failurePolicy.*sidecar/);
    expect(exitCodeFor(e)).toBe(75);
    const refused = new ReleasedWithoutThisPodError({ index: 0, evidence: 'refused', detail: 'X refused' });
    expect(refused.message).toContain('most likely released and run the workload (X refused)');
    expect(refused.releasedAt).toBeUndefined();
  });
});

describe('wire shape', () => {
  it('a released reject carries generation and releasedAt; bad values are malformed', () => {
    const ok = parseMessage({
      v: PROTOCOL_VERSION,
      type: 'reject',
      code: 'released',
      reason: 'r',
      generation: 'ab',
      releasedAt: 5,
    });
    expect(ok).toMatchObject({ code: 'released', generation: 'ab', releasedAt: 5 });
    for (const bad of [
      { generation: 7 },
      { generation: 'x'.repeat(65) },
      { releasedAt: -1 },
      { releasedAt: 1.5 },
    ]) {
      expect(() =>
        parseMessage({ v: PROTOCOL_VERSION, type: 'reject', code: 'released', reason: 'r', ...bad }),
      ).toThrow(ProtocolError);
    }
  });

  it('hello takes the rejoin purpose', () => {
    const hello = { v: PROTOCOL_VERSION, type: 'hello', job: 'j', index: 0, incarnation: 'i', nonce: 'n' };
    expect(parseMessage({ ...hello, purpose: 'rejoin' })).toMatchObject({ purpose: 'rejoin' });
    expect(() => parseMessage({ ...hello, purpose: 'resume' })).toThrow(ProtocolError);
  });
});
