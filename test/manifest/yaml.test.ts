import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { toYaml, toYamlDocuments, type YamlValue, yamlString } from '../../src/manifest/yaml.js';

// Parse with the YAML 1.1 schema too: a manifest is read by Go's YAML 1.1-ish decoders as well.
const readers = [(text: string) => parse(text), (text: string) => parse(text, { version: '1.1' })];

const jsonValue: fc.Arbitrary<YamlValue> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: fc.constantFrom('a', ' ', '\n', '#', ':', '-', '"', "'", '|', '>', '\t', '1', '.') }),
    fc.constantFrom(
      'true',
      'no',
      'on',
      'null',
      '~',
      '0x1F',
      '1e3',
      '012',
      '.inf',
      'y',
      '- a',
      '? a',
      '@x',
      '*a',
    ),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), tie('value'), { maxKeys: 4 }),
})).value as fc.Arbitrary<YamlValue>;

describe('YAML emitter', () => {
  it('writes any JSON value so that YAML 1.2 and 1.1 readers get the same value back', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const text = toYaml(value);
        for (const read of readers) expect(read(text)).toEqual(value);
      }),
      { numRuns: 400 },
    );
  });

  it('quotes strings a reader would turn into something else', () => {
    for (const s of [
      'true',
      'No',
      'ON',
      'null',
      '~',
      '123',
      '1.5',
      '0o17',
      '',
      ' x',
      'a: b',
      '#x',
      '- x',
      '--',
    ]) {
      expect(yamlString(s)).toBe(JSON.stringify(s));
    }
    for (const s of [
      'bash',
      'metadata.namespace',
      '/opt/peer-rendezvous/peer-rendezvous',
      'batch.kubernetes.io/job-name',
    ]) {
      expect(yamlString(s)).toBe(s);
    }
  });

  it('writes a multi-line script as a literal block that keeps trailing spaces and the final newline', () => {
    const script = 'for i in 0 1 2\ndo\n  echo "$i"   \ndone\n';
    const text = toYaml({ command: ['bash', '-c', script] });
    expect(text).toBe(
      'command:\n  - bash\n  - "-c"\n  - |\n    for i in 0 1 2\n    do\n      echo "$i"   \n    done\n',
    );
    expect(parse(text)).toEqual({ command: ['bash', '-c', script] });
  });

  it('puts comments above the key they describe and separates documents with ---', () => {
    const text = toYamlDocuments([
      {
        value: { a: 1, b: { c: [1, { d: 2 }] } },
        comments: { '': 'top', 'b.c': 'about c', 'b.c.1': 'item' },
      },
      { value: { e: 'f' } },
    ]);
    expect(text).toBe('# top\na: 1\nb:\n  # about c\n  c:\n    - 1\n    # item\n    - d: 2\n---\ne: f\n');
    expect(parseAllDocuments(text).map((d) => d.toJS())).toEqual([
      { a: 1, b: { c: [1, { d: 2 }] } },
      { e: 'f' },
    ]);
  });

  it('writes empty collections inline', () => {
    expect(toYaml({ emptyDir: {}, args: [] })).toBe('emptyDir: {}\nargs: []\n');
  });
});

describe('YAML emitter and Object.prototype names', () => {
  it('writes keys named like Object.prototype members or exponent-only floats so they read back (found by fast-check)', () => {
    for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'E0', 'e-1', 'E+5']) {
      const value = JSON.parse(`{"${key}": false}`) as YamlValue;
      expect(parse(toYaml(value))).toEqual(value);
      expect(parse(toYaml(value), { version: '1.1' })).toEqual(value);
    }
  });
});
