// The run's time line (src/simulate/timeline.ts): events never run before their time, errors end the run,
// blocking events count until they finished, clear() cancels what has not fired.
import { describe, expect, it } from 'vitest';
import { Timeline } from '../../src/simulate/timeline.js';

const settle = (until: () => boolean, ms = 2_000): Promise<void> =>
  new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const look = (): void => {
      if (until()) resolve();
      else if (Date.now() > end) reject(new Error('time line did not settle'));
      else setTimeout(look, 2);
    };
    look();
  });

describe('Timeline', () => {
  it('runs no event before its time (setTimeout may fire a fraction of a millisecond early)', async () => {
    const run = new Timeline();
    const early: string[] = [];
    let fired = 0;
    const times = Array.from({ length: 60 }, (_, i) => 1 + ((i * 7.3) % 40));
    for (const atMs of times) {
      run.at(atMs, () => {
        const now = run.now();
        if (now < atMs) early.push(`${now} < ${atMs}`);
        fired++;
      });
    }
    await settle(() => fired === times.length);
    expect(early).toEqual([]);
  });

  it('keeps the first error an event threw, and counts blocking events until they finished', async () => {
    const run = new Timeline();
    let release: () => void = () => {};
    run.at(0, () => new Promise<void>((resolve) => (release = resolve)), true);
    run.at(1, () => {
      throw new Error('first');
    });
    run.at(5, () => {
      throw new Error('second');
    });
    await settle(() => run.failure !== undefined && run.now() > 10);
    expect((run.failure as Error).message).toBe('first');
    expect(run.pending).toBe(1);
    release();
    await settle(() => run.pending === 0);
  });

  it('cancels the events that have not fired', async () => {
    const run = new Timeline();
    let fired = false;
    run.at(30, () => {
      fired = true;
    });
    run.clear();
    await new Promise((r) => setTimeout(r, 60));
    expect(fired).toBe(false);
  });
});
