// The barrier state machine (src/rendezvous/barrier.ts), without sockets or timers: examples of each rule,
// then random event sequences checked against the rules stated in ARCHITECTURE.md.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Barrier, type Introduction, type Member } from '../../src/rendezvous/barrier.js';
import { MAX_ADDRESSES_PER_POD } from '../../src/rendezvous/messages.js';

const joinOk = (b: Barrier, index: number, inc = `inc-${index}`, address = `10.0.0.${index}`): Member => {
  const o = b.join(index, inc, address, 0);
  if (o.kind !== 'joined') throw new Error(`join ${index} refused: ${o.reason}`);
  return o.member;
};

describe('Barrier (star)', () => {
  it('releases once every member joined, its name checked and it said ready — not before', () => {
    const b = new Barrier({ total: 3, mesh: false, ownNameOk: true });
    const m1 = joinOk(b, 1);
    const m2 = joinOk(b, 2);
    expect(b.allJoined()).toBe(true);
    b.nameChecked(m1, ['10.0.0.1']);
    b.ready(m1, 0);
    b.ready(m2, 0);
    expect(b.releasable()).toBe(false);
    expect(b.missing()).toEqual([2]);
    expect(b.release(['10.0.0.100'], 5)).toBeUndefined();
    b.nameChecked(m2, ['10.0.0.2', '10.0.0.22']);
    expect(b.releasable()).toBe(true);
    const plan = b.release(['10.0.0.100'], 5);
    expect(plan).toEqual({ addresses: [['10.0.0.100'], ['10.0.0.1'], ['10.0.0.2', '10.0.0.22']], at: 5 });
    expect(b.released).toBe(true);
    // Once: a second call changes nothing.
    expect(b.release(['x'], 6)).toBeUndefined();
    expect(b.releasePlan).toBe(plan);
  });

  it('waits for the coordinator’s own name when it must be checked', () => {
    const b = new Barrier({ total: 2, mesh: false, ownNameOk: false });
    const m1 = joinOk(b, 1);
    b.nameChecked(m1, []);
    b.ready(m1, 0);
    expect(b.releasable()).toBe(false);
    b.ownNameChecked();
    expect(b.releasable()).toBe(true);
  });

  it('a job of one pod is releasable at once, whatever its own name', () => {
    const b = new Barrier({ total: 1, mesh: true, ownNameOk: false });
    expect(b.release(['10.0.0.9'], 1)?.addresses).toEqual([['10.0.0.9']]);
    expect(b.allSettled()).toBe(true);
  });

  it('refuses indexes outside 1…total-1 and any join after the release', () => {
    const b = new Barrier({ total: 2, mesh: false, ownNameOk: true });
    for (const i of [0, 2, -1, 1.5, Number.NaN])
      expect(b.join(i, 'x', 'a', 0)).toEqual({ kind: 'refused', reason: 'bad-index' });
    const m1 = joinOk(b, 1);
    b.nameChecked(m1, []);
    b.ready(m1, 0);
    b.release([], 0);
    expect(b.join(1, 'y', 'b', 1)).toEqual({ kind: 'refused', reason: 'released' });
  });

  it('a rejoin replaces the session: the old one is returned, its events are ignored, its state is not inherited', () => {
    const b = new Barrier({ total: 2, mesh: false, ownNameOk: true });
    const old = joinOk(b, 1, 'a');
    b.nameChecked(old, []);
    const o = b.join(1, 'b', '10.0.0.7', 3);
    expect(o.kind === 'joined' && o.replaced).toBe(old);
    const fresh = b.member(1)!;
    expect(fresh.nameOk).toBe(false);
    b.ready(old, 0);
    expect(fresh.ready).toBe(false);
    expect(b.leave(old)).toBe(false);
    expect(b.member(1)).toBe(fresh);
    expect(b.releasable()).toBe(false);
  });

  it('a member that leaves before the release is dropped; after the release it counts as settled', () => {
    const b = new Barrier({ total: 3, mesh: false, ownNameOk: true });
    const m1 = joinOk(b, 1);
    expect(b.leave(m1)).toBe(true);
    expect(b.member(1)).toBeUndefined();
    const a = joinOk(b, 1);
    const c = joinOk(b, 2);
    for (const m of [a, c]) {
      b.nameChecked(m, []);
      b.ready(m, 0);
    }
    b.release([], 0);
    expect(b.allSettled()).toBe(false);
    expect(b.settle(a)).toBe(false);
    expect(b.leave(c)).toBe(false);
    expect(b.allSettled()).toBe(true);
  });

  it('caps each pod’s addresses, the connecting one first', () => {
    const b = new Barrier({ total: 2, mesh: false, ownNameOk: true });
    const m = joinOk(b, 1, 'i', '10.9.9.9');
    const dns = Array.from({ length: 40 }, (_, k) => `10.1.0.${k}`);
    b.nameChecked(m, [...dns, '10.9.9.9']);
    b.ready(m, 0);
    const row = b.release([], 0)!.addresses[1]!;
    expect(row[0]).toBe('10.9.9.9');
    expect(row).toHaveLength(MAX_ADDRESSES_PER_POD);
    expect(new Set(row).size).toBe(row.length);
  });
});

describe('Barrier (mesh)', () => {
  it('introduces each newly checked member to every checked one, both ways, under a new epoch', () => {
    const b = new Barrier({ total: 4, mesh: true, ownNameOk: true });
    const [m1, m2, m3] = [joinOk(b, 1), joinOk(b, 2), joinOk(b, 3)];
    b.nameChecked(m1, []);
    expect(b.introductionsPending).toBe(true);
    expect(b.introduce()).toEqual([]);
    expect(b.introductionsPending).toBe(false);
    b.nameChecked(m2, []);
    const second = b.introduce();
    expect(second.map((x) => [x.to.index, x.peer.index, x.epoch])).toEqual([
      [1, 2, 2],
      [2, 1, 2],
    ]);
    b.nameChecked(m3, []);
    const third = b.introduce();
    expect(third.map((x) => [x.to.index, x.peer.index, x.epoch])).toEqual([
      [1, 3, 3],
      [2, 3, 3],
      [3, 1, 3],
      [3, 2, 3],
    ]);
    // Every round is an epoch, even the first one that introduces nobody; a round with nothing new is none.
    expect(b.epoch).toBe(3);
    expect(b.introduce()).toEqual([]);
    expect(b.epoch).toBe(3);
  });

  it('introduces names checked together in one round: one epoch for all of them', () => {
    const b = new Barrier({ total: 5, mesh: true, ownNameOk: true });
    const [m1, m2, m3, m4] = [1, 2, 3, 4].map((i) => joinOk(b, i)) as [Member, Member, Member, Member];
    b.nameChecked(m1, []);
    b.introduce();
    for (const m of [m2, m3, m4]) b.nameChecked(m, []);
    const round = b.introduce();
    expect(b.epoch).toBe(2);
    // m1 learns the three new ones; each new one learns every other checked member.
    const told = (i: number) =>
      round
        .filter((x) => x.to.index === i)
        .map((x) => x.peer.index)
        .sort();
    expect(told(1)).toEqual([2, 3, 4]);
    expect(told(2)).toEqual([1, 3, 4]);
    expect(told(3)).toEqual([1, 2, 4]);
    expect(told(4)).toEqual([1, 2, 3]);
    expect(new Set(round.map((x) => x.epoch))).toEqual(new Set([2]));
    for (const m of [m1, m2, m3, m4]) expect(m.sentEpoch).toBe(2);
  });

  it('a member checked but not introduced yet is not ready, whatever it says', () => {
    const b = new Barrier({ total: 3, mesh: true, ownNameOk: true });
    const [m1, m2] = [joinOk(b, 1), joinOk(b, 2)];
    b.nameChecked(m1, []);
    b.nameChecked(m2, []);
    b.ready(m1, 0);
    b.ready(m2, 0);
    expect(b.isReady(m1)).toBe(false);
    expect(b.releasable()).toBe(false);
    b.introduce();
    expect(b.releasable()).toBe(false); // both must answer the round's epoch
    b.ready(m1, b.epoch);
    b.ready(m2, b.epoch);
    expect(b.releasable()).toBe(true);
  });

  it('a member that leaves before its round is not introduced', () => {
    const b = new Barrier({ total: 4, mesh: true, ownNameOk: true });
    const [m1, m2] = [joinOk(b, 1), joinOk(b, 2)];
    b.nameChecked(m1, []);
    b.introduce();
    b.nameChecked(m2, []);
    b.leave(m2);
    expect(b.introductionsPending).toBe(false);
    expect(b.introduce()).toEqual([]);
  });

  it('a ready at an older epoch than the last introduction does not count', () => {
    const b = new Barrier({ total: 3, mesh: true, ownNameOk: true });
    const [m1, m2] = [joinOk(b, 1), joinOk(b, 2)];
    b.nameChecked(m1, []);
    b.introduce();
    b.ready(m1, 0);
    expect(b.isReady(m1)).toBe(true);
    b.nameChecked(m2, []);
    b.introduce(); // a new epoch: both introduced to each other
    b.ready(m2, b.epoch);
    expect(b.isReady(m1)).toBe(false);
    expect(b.releasable()).toBe(false);
    b.ready(m1, b.epoch - 1);
    expect(b.releasable()).toBe(false);
    b.ready(m1, b.epoch);
    expect(b.releasable()).toBe(true);
  });
});

// ---- property: random event sequences against the rules -------------------------------------------------

type Ev =
  | { t: 'join'; i: number; replace: boolean }
  | { t: 'leave'; i: number }
  | { t: 'name'; i: number }
  | { t: 'ready'; i: number; stale: boolean }
  | { t: 'own' }
  | { t: 'ack'; i: number }
  | { t: 'intro' };

// Weighted towards progress (join, check, ready), with departures, rejoins, stale readies and acks between: the
// driver tries a release after every event, as coordinator.ts does after every change.
const event = (n: number): fc.Arbitrary<Ev> => {
  const idx = fc.integer({ min: 1, max: n - 1 });
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('join' as const),
        i: idx,
        // A join of an index that has a session replaces it (a restarted pod) one time in five.
        replace: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('leave' as const), i: idx }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('name' as const), i: idx }) },
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('ready' as const),
        i: idx,
        stale: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ t: 'own' as const }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('ack' as const), i: idx }) },
    // A round of introductions (the driver's timer), after one or more names checked out.
    { weight: 3, arbitrary: fc.constant({ t: 'intro' as const }) },
  );
};

describe('Barrier (property)', () => {
  it('releases only when every index has a current, checked member ready at its latest epoch; once; the rest follows', () => {
    let releasedRuns = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (n, mesh, ownNameOk, seed) => {
          const events = fc.sample(fc.array(event(n), { minLength: 10, maxLength: 200 }), {
            seed,
            numRuns: 1,
          })[0]!;
          const b = new Barrier({ total: n, mesh, ownNameOk });
          // What members were told (mesh): to → peer index → incarnation, and the epoch of each introduction.
          const told = new Map<Member, Map<number, string>>();
          const sessions: Member[] = [];
          let releases = 0;
          let lastEpoch = 0;
          const record = (intros: Introduction[]): void => {
            for (const x of intros) {
              expect(x.epoch).toBe(b.epoch);
              const m = told.get(x.to) ?? new Map<number, string>();
              told.set(x.to, m);
              m.set(x.peer.index, x.peer.incarnation);
            }
          };
          for (const e of events) {
            const m = e.t === 'own' || e.t === 'intro' ? undefined : b.member(e.i);
            const wasReleased = b.released;
            if (e.t === 'join') {
              if (m && !e.replace) continue;
              const o = b.join(e.i, `i${e.i}-${sessions.length}`, `10.0.0.${e.i}`, 0);
              expect(o.kind).toBe(wasReleased ? 'refused' : 'joined');
              if (o.kind === 'joined') sessions.push(o.member);
            } else if (e.t === 'leave' && m) b.leave(m);
            else if (e.t === 'name' && m) b.nameChecked(m, [m.address]);
            else if (e.t === 'intro') record(b.introduce());
            else if (e.t === 'ready' && m) b.ready(m, e.stale ? Math.max(0, m.sentEpoch - 1) : m.sentEpoch);
            else if (e.t === 'own') b.ownNameChecked();
            else if (e.t === 'ack' && m) b.settle(m);
            {
              const releasable = b.releasable();
              const plan = b.release(['10.0.0.100'], 0);
              expect(plan !== undefined).toBe(releasable);
              if (plan) {
                releases++;
                expect(b.ownNameOk).toBe(true);
                expect(plan.addresses).toHaveLength(n);
                for (let i = 1; i < n; i++) {
                  const cur = b.member(i)!;
                  expect(cur).toBeDefined();
                  expect(cur.nameOk && cur.ready).toBe(true);
                  expect(plan.addresses[i]![0]).toBe(cur.address);
                  if (mesh) {
                    expect(cur.readyEpoch).toBe(cur.sentEpoch);
                    // Every other current member was introduced to it with its current incarnation.
                    for (let j = 1; j < n; j++) {
                      if (j === i || n <= 2) continue;
                      expect(told.get(cur)?.get(j)).toBe(b.member(j)!.incarnation);
                    }
                  }
                }
              }
            }
            expect(b.epoch).toBeGreaterThanOrEqual(lastEpoch);
            lastEpoch = b.epoch;
            if (wasReleased) expect(b.released).toBe(true);
            expect(b.joined).toBeLessThanOrEqual(n - 1);
            expect(b.readyMembers()).toBe(n - 1 - b.missing().length);
          }
          expect(releases).toBeLessThanOrEqual(1);
          releasedRuns += releases;
          // Replaced sessions never come back as current.
          for (const s of sessions) if (b.member(s.index) !== s) expect(b.current(s)).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
    // The sequences must reach a release often enough for the checks at release to mean something. About 95
    // of 1000 do (84–112 in six runs, sd ≈ 9): 80 failed one run in twenty; 50 is five sd below the mean.
    expect(releasedRuns).toBeGreaterThan(50);
  });
});
