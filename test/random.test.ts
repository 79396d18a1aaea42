// src/random.ts: the run path's random bytes from /dev/urandom without node:crypto, node:crypto where the
// device cannot be read, uniform integers by rejection sampling.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { randomBytes, randomInt, randomSource } from '../src/random.js';

const distRandom = fileURLToPath(new URL('../dist/random.js', import.meta.url));

describe('randomBytes', () => {
  it('gives the count asked for, fresh each call, from /dev/urandom on Linux', () => {
    const a = randomBytes(16);
    const b = randomBytes(16);
    expect(a).toHaveLength(16);
    expect(a.equals(b)).toBe(false);
    expect(randomBytes(0)).toHaveLength(0);
    expect(randomSource()).toBe(process.platform === 'linux' ? 'urandom' : 'crypto');
  });

  it('spans refills of the 4 KiB pool and never hands out a byte twice (no repeated 16-byte run)', () => {
    const big = randomBytes(10_000);
    expect(big).toHaveLength(10_000);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(randomBytes(16).toString('hex'));
    expect(seen.size).toBe(2000);
    // Roughly half the bits set: not a zero-filled or constant buffer.
    let ones = 0;
    for (const byte of big) for (let bit = 0; bit < 8; bit++) ones += (byte >> bit) & 1;
    expect(ones / 80_000).toBeGreaterThan(0.47);
    expect(ones / 80_000).toBeLessThan(0.53);
  });

  it.each([-1, 1.5, Number.NaN])('refuses a count of %s', (n) => {
    expect(() => randomBytes(n)).toThrow(new RangeError(`randomBytes: ${n} is not a byte count`));
  });
});

describe('randomInt', () => {
  it('stays in [min, max) in both forms and reaches both ends', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = randomInt(3, 7);
      expect(x).toBeGreaterThanOrEqual(3);
      expect(x).toBeLessThan(7);
      seen.add(x);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
    for (let i = 0; i < 200; i++) expect(randomInt(1)).toBe(0);
    for (let i = 0; i < 200; i++) {
      const id = randomInt(0, 65_536);
      expect(Number.isInteger(id) && id >= 0 && id < 65_536).toBe(true);
    }
    const full = randomInt(0, 2 ** 32);
    expect(full >= 0 && full < 2 ** 32).toBe(true);
  });

  it('is uniform: no modulo bias for a range that does not divide 2^32', () => {
    // 60,000 draws of 6 values: each count 10,000 ± 91 (1 sigma); ±800 is ~9 sigma, never hit by chance.
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[randomInt(6)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(800);
    // 3 * 2^30 values: a plain modulo would give the lower third half again as often as the rest.
    const third = 2 ** 30;
    let low = 0;
    for (let i = 0; i < 30_000; i++) if (randomInt(3 * third) < third) low++;
    expect(Math.abs(low - 10_000)).toBeLessThan(800);
  });

  it.each([
    [[0], '[0, 0)'],
    [[5, 5], '[5, 5)'],
    [[7, 3], '[7, 3)'],
    [[0, 2 ** 32 + 1], `[0, ${2 ** 32 + 1})`],
    [[0.5, 2], '[0.5, 2)'],
  ] as const)('refuses the range %j', (args, shown) => {
    expect(() => (randomInt as (...a: number[]) => number)(...args)).toThrow(
      new RangeError(`randomInt: ${shown} is not a range of 1 to 2^32 integers`),
    );
  });
});

describe.runIf(process.platform === 'linux' && process.getuid?.() === 0)(
  'without a readable /dev/urandom',
  () => {
    it('fills the pool from node:crypto instead (a private mount namespace with /dev/null over the device)', () => {
      const script = `import(${JSON.stringify(distRandom)}).then((r) => { const b = r.randomBytes(64); console.log(JSON.stringify({ source: r.randomSource(), zero: b.every((x) => x === 0), n: b.length })); })`;
      const r = spawnSync(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          'mount --bind /dev/null /dev/urandom && exec "$0" -e "$1"',
          process.execPath,
          script,
        ],
        { encoding: 'utf8', timeout: 20_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ source: 'crypto', zero: false, n: 64 });
    });
  },
);
