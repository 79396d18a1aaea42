// A small YAML emitter for manifests: block style, safe quoting, literal blocks for scripts, comments.
// It writes only what JSON can hold (objects, arrays, strings, finite numbers, booleans, null).
// Why not the `yaml` package's stringify (checked 2026-12-02, yaml 2.9): a manifest is read by YAML 1.1
// decoders (kubectl's go-yaml: `yes`/`on` are booleans) and 1.2 ones (`0o17` is an integer); yaml writes
// `0o17` plain with version 1.1 and `yes`/`on` plain with 1.2, so one of the two readers gets another value.
// This emitter quotes for both (test/manifest/yaml.test.ts reads everything back with both schemas).

/** A JSON-like value the emitter can write. */
export type YamlValue =
  | string
  | number
  | boolean
  | null
  | readonly YamlValue[]
  | { [key: string]: YamlValue };

/** One YAML document: the value and comments keyed by path (`spec.template.spec`, `spec.ports.0`). */
export interface YamlDocument {
  readonly value: YamlValue;
  /** Comment lines written above the key at that path ('' = top of the document). */
  readonly comments?: Readonly<Record<string, string>>;
}

// Words a YAML 1.1 or 1.2 reader may turn into a boolean or null when unquoted.
const RESERVED = new Set(['true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', 'null', '~']);
// Plain scalars we allow: start with a letter or '/', then letters, digits and a few punctuation marks
// that cannot start or end a YAML indicator in block context (no ':', '#', ',', '[', '{', quotes, spaces).
const PLAIN = /^[A-Za-z/][A-Za-z0-9_./@+-]*$/;
// …except what some YAML 1.1 readers take for a float with no mantissa (`E0`, `e-1`; found by fast-check).
const EXPONENT_ONLY = /^[eE][-+]?[0-9]+$/;

/** Serialize documents, separated by `---`. */
export function toYamlDocuments(docs: readonly YamlDocument[]): string {
  return docs.map((d) => toYaml(d.value, d.comments)).join('---\n');
}

/** Serialize one value as a block-style YAML document ending in a newline. */
export function toYaml(value: YamlValue, comments: Readonly<Record<string, string>> = {}): string {
  const out: string[] = [];
  writeComment(out, commentAt(comments, ''), '');
  if (isCollection(value) && !isEmpty(value)) writeBlock(out, value, '', [], comments);
  else out.push(scalarOrEmpty(value, ''));
  return `${out.join('\n')}\n`;
}

/** Quote a string for YAML when it would not read back as the same string unquoted. */
export function yamlString(value: string): string {
  if (PLAIN.test(value) && !EXPONENT_ONLY.test(value) && !RESERVED.has(value.toLowerCase())) return value;
  // Double quotes inside and no single quote: a single-quoted scalar needs no escapes (what YAML formatters
  // such as biome write, so the examples stay formatted). Printable ASCII only: single quotes escape nothing.
  if (value.includes('"') && !value.includes("'") && /^[\x20-\x7e]*$/.test(value)) return `'${value}'`;
  return doubleQuoted(value);
}

function doubleQuoted(value: string): string {
  // A JSON string is a YAML double-quoted scalar; escape everything outside printable ASCII as well so
  // that YAML 1.1 line breaks (U+0085, U+2028, U+2029) and invisible characters survive any reader.
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function isCollection(value: YamlValue): value is readonly YamlValue[] | { [key: string]: YamlValue } {
  return typeof value === 'object' && value !== null;
}

function isEmpty(value: readonly YamlValue[] | { [key: string]: YamlValue }): boolean {
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}

function scalarOrEmpty(value: YamlValue, indent: string): string {
  if (Array.isArray(value)) return '[]';
  if (isCollection(value)) return '{}';
  return scalar(value, indent);
}

function scalar(value: string | number | boolean | null, indent: string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`Expected a finite number in YAML output, got ${value}`);
    return String(value);
  }
  return literalBlock(value, indent) ?? yamlString(value);
}

/** A `|` block for multi-line text that a literal block can hold exactly; undefined otherwise. */
function literalBlock(value: string, indent: string): string | undefined {
  if (!value.includes('\n')) return undefined;
  // Literal blocks hold printable ASCII exactly; anything else (tabs, CR, control characters, non-ASCII)
  // goes to double quotes, as does text whose first line starts with a space (it would set the indentation).
  if (/[^\n\x20-\x7e]/.test(value)) return undefined;
  const trailing = /\n*$/.exec(value)![0].length;
  const body = value.slice(0, value.length - trailing);
  if (body.length === 0 || /^\n*[ ]/.test(body)) return undefined;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const inner = `${indent}  `;
  const lines = value.slice(0, trailing <= 1 ? body.length : value.length - 1).split('\n');
  return `|${chomp}\n${lines.map((l) => (l === '' ? '' : inner + l)).join('\n')}`;
}

/** The comment for `path`, only if the caller set one (a key like `constructor` must not find Object's). */
function commentAt(comments: Readonly<Record<string, string>>, path: string): string | undefined {
  return Object.hasOwn(comments, path) ? comments[path] : undefined;
}

function writeComment(out: string[], text: string | undefined, indent: string): void {
  if (text === undefined) return;
  for (const line of text.split('\n')) out.push(`${indent}#${line === '' ? '' : ` ${line}`}`);
}

function writeBlock(
  out: string[],
  value: readonly YamlValue[] | { [key: string]: YamlValue },
  indent: string,
  path: readonly string[],
  comments: Readonly<Record<string, string>>,
): void {
  if (Array.isArray(value)) {
    value.forEach((item: YamlValue, i) => {
      const itemPath = [...path, String(i)];
      writeComment(out, commentAt(comments, itemPath.join('.')), indent);
      if (isCollection(item) && !isEmpty(item)) {
        // Write the item one level deeper, then put the dash in place of the first line's indent.
        const sub: string[] = [];
        writeBlock(sub, item, `${indent}  `, itemPath, comments);
        const first = sub.findIndex((l) => !l.trimStart().startsWith('#'));
        for (let j = 0; j < sub.length; j++) {
          out.push(j === first ? `${indent}- ${sub[j]!.slice(indent.length + 2)}` : sub[j]!);
        }
      } else {
        out.push(`${indent}- ${scalarOrEmpty(item, indent)}`);
      }
    });
    return;
  }
  for (const [key, item] of Object.entries(value as { [key: string]: YamlValue })) {
    const itemPath = [...path, key];
    writeComment(out, commentAt(comments, itemPath.join('.')), indent);
    const k = yamlString(key);
    if (isCollection(item) && !isEmpty(item)) {
      out.push(`${indent}${k}:`);
      // Nested collections, sequences included, indent by two (as `biome format` and `kubectl` write them).
      writeBlock(out, item, `${indent}  `, itemPath, comments);
    } else {
      out.push(`${indent}${k}: ${scalarOrEmpty(item, indent)}`);
    }
  }
}
