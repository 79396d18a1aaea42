import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatDownwardApiMap,
  parseDownwardApiMap,
  parseMpiHostfile,
  quoteGo,
  unquoteGo,
} from '../../src/identity/podinfo.js';

describe('downward-API map files (kubelet fieldpath.FormatMap: sorted key=%q lines)', () => {
  it('reads what the kubelet writes, escapes included', () => {
    const text =
      'app="web"\njobset.sigs.k8s.io/job-index="1"\nnote="say \\"hi\\"\\n\\tbye \\\\ \\x01 caf\\u00e9 ☃"';
    const m = parseDownwardApiMap(text, '/etc/podinfo/labels');
    expect(m.get('app')).toBe('web');
    expect(m.get('jobset.sigs.k8s.io/job-index')).toBe('1');
    expect(m.get('note')).toBe('say "hi"\n\tbye \\ \x01 café ☃');
  });
  it('round-trips any map through the kubelet format', () => {
    const key = fc.stringMatching(/^[a-z0-9]([-a-z0-9./]*[a-z0-9])?$/);
    fc.assert(
      fc.property(fc.dictionary(key, fc.string({ unit: 'binary' })), (map) => {
        const back = parseDownwardApiMap(formatDownwardApiMap(map), 'x');
        expect(Object.fromEntries(back)).toEqual(map);
      }),
      { numRuns: 200 },
    );
  });
  it('undoes Go octal and \\U escapes, rejects broken quoting naming the file and line', () => {
    expect(unquoteGo('"\\101\\U0001F600"')).toBe('A😀');
    expect(unquoteGo('"a"b"')).toBeUndefined();
    expect(unquoteGo('"\\q"')).toBeUndefined();
    expect(unquoteGo('a')).toBeUndefined();
    expect(quoteGo('a"\\\n')).toBe('"a\\"\\\\\\n"');
    expect(() => parseDownwardApiMap('a="1"\nb=2', '/etc/podinfo/labels')).toThrow(
      /\/etc\/podinfo\/labels line 2: the value of "b" is not a Go-quoted string/,
    );
    expect(() => parseDownwardApiMap('novalue', '/p')).toThrow(/\/p line 1 "novalue" is not valid/);
  });
});

describe('MPI hostfiles', () => {
  it('reads Open MPI, Intel MPI/MPICH and bare lines, comments and blanks', () => {
    expect(
      parseMpiHostfile('# hosts\na.pi.default.svc slots=2 max_slots=4\nB.pi:3\n\nc\n', '/etc/mpi/hostfile'),
    ).toEqual([
      { host: 'a.pi.default.svc', slots: 2 },
      { host: 'b.pi', slots: 3 },
      { host: 'c', slots: undefined },
    ]);
  });
  it('rejects what it does not understand, naming the line', () => {
    expect(() => parseMpiHostfile('a cpus=2\n', '/etc/mpi/hostfile')).toThrow(
      /\/etc\/mpi\/hostfile line 1: "cpus=2" is not understood/,
    );
  });
});
