import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCompletions, parseDecimal, parseIndex } from '../../src/identity/validate.js';
import { isDns1123Label, labelProblem, nameProblem } from '../../src/names.js';

const labelChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split(''));
const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));

describe('DNS-1123 labels', () => {
  it.each(['a', '0', 'example-job', 'a-b-c', 'x'.repeat(63), '1abc', 'job-99999'])('accepts %j', (v) => {
    expect(isDns1123Label(v)).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['x'.repeat(64), 'at most 63'],
    ['Example_Job', 'lower case'],
    ['-a', 'start and end'],
    ['a-', 'start and end'],
    ['a.b', 'lower case'],
    ['a b', 'lower case'],
    ['ünï', 'lower case'],
  ])('rejects %j (%s)', (v, why) => {
    expect(labelProblem(v)).toContain(why);
  });

  it('accepts every alphanumeric-bounded string of [a-z0-9-] up to 63', () => {
    fc.assert(
      fc.property(alnum, fc.array(labelChar, { maxLength: 61 }), alnum, (a, mid, b) => {
        expect(isDns1123Label(a + mid.join('') + b)).toBe(true);
      }),
    );
  });

  it('rejects any string with a character outside [a-z0-9-]', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), (s) => {
        fc.pre(/[^a-z0-9-]/.test(s));
        expect(isDns1123Label(s)).toBe(false);
      }),
    );
  });

  it('rejects every label longer than 63', () => {
    fc.assert(
      fc.property(fc.integer({ min: 64, max: 300 }), (n) => {
        expect(isDns1123Label('a'.repeat(n))).toBe(false);
      }),
    );
  });
});

describe('DNS names', () => {
  it('accepts a pod FQDN with or without the trailing dot', () => {
    expect(nameProblem('example-job-0.headless-svc.default.svc.cluster.local')).toBeUndefined();
    expect(nameProblem('example-job-0.headless-svc.default.svc.cluster.local.')).toBeUndefined();
  });
  it('rejects names over 253 characters and empty labels', () => {
    const long = Array.from({ length: 5 }, () => 'a'.repeat(63)).join('.');
    expect(nameProblem(long)).toContain('at most 253');
    expect(nameProblem('a..b')).toContain('must not be empty');
    expect(nameProblem('.')).toContain('must not be empty');
  });
  it('accepts exactly 253 characters', () => {
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(name.length).toBe(253);
    expect(nameProblem(name)).toBeUndefined();
    expect(nameProblem(`${name}.`)).toBeUndefined();
  });
});

describe('numbers', () => {
  it.each(['abc', '-1', '1.5', '1e3', '', ' ', '0x10', '+1', '١'])('parseDecimal(%j) is undefined', (v) => {
    expect(parseDecimal(v)).toBeUndefined();
  });
  it('parseDecimal round-trips every safe non-negative integer', () => {
    fc.assert(
      fc.property(fc.nat(), (n) => {
        expect(parseDecimal(String(n))).toBe(n);
      }),
    );
  });
  it('rejects completions outside 1..100000 with the value and its source', () => {
    for (const v of ['0', '100001', 'abc', '-3', '2.0']) {
      expect(() => parseCompletions(v, 'flag --completions')).toThrow(
        expect.objectContaining({ code: 'RDV_ERR_CONFIG', value: v, source: 'flag --completions' }),
      );
    }
    expect(parseCompletions('1', 'x')).toBe(1);
    expect(parseCompletions('100000', 'x')).toBe(100000);
  });
  it('rejects a bad index naming the value', () => {
    expect(() => parseIndex('1.5', 'env JOB_COMPLETION_INDEX')).toThrow(
      /"1\.5" from env JOB_COMPLETION_INDEX/,
    );
    expect(parseIndex('07', 'x')).toBe(7);
  });
});
