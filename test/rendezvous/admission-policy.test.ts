// The admission policy on its own (src/rendezvous/admission.ts): caps, and whom it sheds. Channels are
// stand-ins that record what is sent and whether they were closed; the socket-level behaviour is in
// admission.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Admission, FIRST_FRAME_MS } from '../../src/rendezvous/admission.js';
import type { Channel } from '../../src/rendezvous/channel.js';
import { FrameDecoder } from '../../src/rendezvous/frames.js';

interface Fake {
  id: number;
  source: string;
  arrived: number;
  spokeAt: number | undefined;
  /** Order of the hellos (the admission's own order for ties in time). */
  spokeSeq: number;
  closed: boolean;
  sent: Buffer[];
  handle: { spoke: () => void; done: () => void };
}

function harness(max: number, perSource: number) {
  let now = 0;
  const warned: string[] = [];
  const admission = new Admission(
    max,
    perSource,
    (source) => warned.push(source),
    () => now,
  );
  const live: Fake[] = [];
  let next = 0;
  let spoken = 0;
  return {
    warned,
    live,
    admission,
    tick: (ms: number) => {
      now += ms;
    },
    arrive(source: string): Fake {
      const f = {
        id: next++,
        source,
        arrived: now,
        spokeAt: undefined,
        closed: false,
        sent: [],
      } as unknown as Fake;
      const channel = {
        remoteAddress: source,
        sendFrame: (b: Buffer) => f.sent.push(b) > 0,
        close: () => {
          f.closed = true;
        },
      } as unknown as Channel;
      f.handle = admission.admit(channel);
      live.push(f);
      return f;
    },
    speak(f: Fake) {
      f.spokeAt = now;
      f.spokeSeq = spoken++;
      f.handle.spoke();
    },
    finish(f: Fake) {
      f.handle.done();
      live.splice(live.indexOf(f), 1);
    },
    now: () => now,
  };
}

/**
 * Whom the policy must shed. Within one address (`globalStaller` false): a staller (longest stalled, ties in
 * arrival order), else the oldest idle, else the oldest. In all: the first to have spoken (the order the
 * hellos came) if it stalled, else the oldest idle, else the first to have spoken.
 */
function expectedVictim(pool: Fake[], now: number, globalStaller: boolean): Fake {
  const stalled = pool.filter((f) => f.spokeAt !== undefined && now - f.spokeAt > FIRST_FRAME_MS);
  const byHello = [...pool.filter((f) => f.spokeAt !== undefined)].sort((a, b) => a.spokeSeq - b.spokeSeq);
  const idle = pool.find((f) => f.spokeAt === undefined);
  if (globalStaller) {
    if (byHello[0] && stalled.includes(byHello[0])) return byHello[0];
    return idle ?? byHello[0]!;
  }
  if (stalled.length > 0) return [...stalled].sort((a, b) => a.spokeAt! - b.spokeAt! || a.id - b.id)[0]!;
  return idle ?? pool[0]!;
}

describe('admission policy', () => {
  it('keeps both caps and sheds exactly whom the policy names, for any sequence of events', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('arrive' as const), source: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('speak' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('done' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 1500 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(op, { maxLength: 200 }),
        (max, perSource, ops) => {
          const h = harness(max, perSource);
          for (const o of ops) {
            if (o.kind === 'tick') h.tick(o.ms);
            else if (o.kind === 'arrive') {
              const source = `10.0.0.${o.source}`;
              const before = [...h.live];
              const ofSource = before.filter((f) => f.source === source);
              const count = (s: string) => before.filter((x) => x.source === s).length;
              const most = Math.max(0, ...before.map((x) => count(x.source)));
              const expected =
                ofSource.length >= perSource
                  ? expectedVictim(ofSource, h.now(), false)
                  : before.length >= max && most <= 1
                    ? expectedVictim(before, h.now(), true)
                    : undefined;
              const f = h.arrive(source);
              const shed = before.filter((x) => x.closed);
              if (ofSource.length < perSource && before.length >= max && most > 1) {
                // Over the total cap: the victim comes from an address holding the most (ties: any of
                // them), chosen within it as over the per-address cap.
                expect(shed).toHaveLength(1);
                const from = shed[0]!.source;
                expect(count(from)).toBe(most);
                expect(shed[0]).toBe(
                  expectedVictim(
                    before.filter((x) => x.source === from),
                    h.now(),
                    false,
                  ),
                );
              } else expect(shed).toEqual(expected ? [expected] : []);
              for (const x of shed) {
                expect(new FrameDecoder(1024).push(Buffer.concat(x.sent))).toEqual([
                  expect.objectContaining({ type: 'reject', code: 'busy' }),
                ]);
                h.live.splice(h.live.indexOf(x), 1);
              }
              expect(f.closed).toBe(false);
            } else if (h.live.length > 0) {
              const f = h.live[o.pick % h.live.length]!;
              if (o.kind === 'speak' && f.spokeAt === undefined) h.speak(f);
              else if (o.kind === 'done') h.finish(f);
            }
            expect(h.admission.pending).toBe(h.live.length);
            expect(h.live.length).toBeLessThanOrEqual(max);
            for (const s of new Set(h.live.map((f) => f.source)))
              expect(h.live.filter((f) => f.source === s).length).toBeLessThanOrEqual(perSource);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a member dialling in past 64 stalled hellos is not shed by the next arrivals', () => {
    const h = harness(64, 16);
    const stallers = Array.from({ length: 64 }, (_, i) => h.arrive(`10.9.${i % 8}.1`));
    for (const s of stallers) h.speak(s);
    h.tick(FIRST_FRAME_MS + 1);
    const member = h.arrive('10.1.0.2');
    for (let i = 0; i < 63; i++) h.arrive(`10.9.${i % 8}.1`); // the attacker keeps coming, idle
    expect(member.closed).toBe(false);
    expect(stallers.filter((s) => s.closed)).toHaveLength(64);
  });

  it('idle clients never shed a handshake under way, however many come', () => {
    const h = harness(64, 16);
    const member = h.arrive('10.1.0.2');
    h.speak(member);
    for (let i = 0; i < 10_000; i++) h.arrive(`10.9.${i % 8}.${1 + (i % 200)}`);
    expect(member.closed).toBe(false);
    expect(h.admission.shed).toBe(10_000 - 63);
  });

  it('warns for each address it sheds from, in the order it does: the one holding the most first', () => {
    const h = harness(3, 16);
    const a = h.arrive('10.0.0.1');
    h.arrive('10.0.0.2');
    h.arrive('10.0.0.2');
    h.arrive('10.0.0.3'); // in all over the cap: 10.0.0.2 holds two, it pays (not the oldest, 10.0.0.1)
    expect(h.warned).toEqual(['10.0.0.2']);
    h.arrive('10.0.0.4'); // one each now: the oldest idle one goes, as before
    expect(h.warned).toEqual(['10.0.0.2', '10.0.0.1']);
    expect(a.closed).toBe(true);
  });

  it('sheds hello-then-stall clients of one address, not members that just connected, at the total cap', () => {
    const h = harness(64, 16);
    // The attacker's handshakes spoke at once and have not stalled for a second yet.
    for (let i = 0; i < 63; i++) h.speak(h.arrive(`10.9.${i % 8}.1`));
    const members = [1, 2, 3, 4].map((i) => h.arrive(`10.1.0.${i}`)); // idle: their hellos are on the way
    for (let i = 0; i < 500; i++) h.speak(h.arrive(`10.9.${i % 8}.1`));
    expect(members.filter((m) => m.closed)).toEqual([]);
    expect(h.warned.every((w) => w.startsWith('10.9.'))).toBe(true);
  });
});
