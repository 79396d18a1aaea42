// The layering of src/ (ARCHITECTURE.md, "Module map"): every import points down the list below, never up and
// never sideways between two folders of one layer. Issue 15's arrows, `cli` → `simulate`/`rendezvous`/`exec` →
// `dns`/`identity` → core, hold; the list orders the folders inside those tiers too, as the code has them:
//
//   index       src/index.ts, the public API (re-exports from every layer; nothing in src/ imports it)
//   cli         src/cli/: argv, env, yargs, exit codes applied, printing
//   manifest    src/manifest/ · sidecar: src/sidecar/ · simulate: src/simulate/ — none imports another
//   exec        src/exec/: the hand-over; takes the Mesh a rendezvous returns (rendezvous/types.ts)
//   rendezvous  src/rendezvous/: the barrier; asks identity who the peers are and dns where they are
//   identity    src/identity/: reads the pod's resolv.conf with dns/resolv-conf.ts
//   dns         src/dns/
//   core        src/*.ts but index.ts: errors, exit codes, signals, defaults, durations, names, version
//
// Type-only and dynamic imports count: a reader follows them the same way.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const LAYERS: readonly (readonly string[])[] = [
  ['core'],
  ['dns'],
  ['identity'],
  ['rendezvous'],
  ['exec'],
  ['manifest', 'sidecar', 'simulate'],
  ['cli'],
  ['index'],
];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/** The layer of a file given relative to src/ with forward slashes (`dns/client.ts`, `errors.ts`). */
function layerOf(file: string): string {
  if (file === 'index.ts') return 'index';
  const slash = file.indexOf('/');
  return slash === -1 ? 'core' : file.slice(0, slash);
}

function rankOf(layer: string): number {
  return LAYERS.findIndex((names) => names.includes(layer));
}

/** Why `from` (relative to src/) may not import `spec`, or undefined when it may. */
function wrongArrow(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined; // node:…, yargs, dns-packet
  const target = posix.normalize(posix.join(posix.dirname(from), spec)).replace(/\.js$/, '.ts');
  if (target.startsWith('../')) return `src/${from} imports ${spec}, outside src/`;
  const a = layerOf(from);
  const b = layerOf(target);
  if (a === b) return undefined;
  const ra = rankOf(a);
  const rb = rankOf(b);
  if (ra === -1) return `src/${from}: folder ${a}/ is in no layer (add it to LAYERS and ARCHITECTURE.md)`;
  if (rb === -1) return `src/${from} imports ${spec}: folder ${b}/ is in no layer`;
  if (rb < ra) return undefined;
  const how = rb === ra ? 'sideways, to' : 'up, to';
  return `src/${from} imports ${spec}: ${a} → ${b} points ${how} a layer that is not below ${a}`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier of a file: import, import type, export … from, import(). */
function importsOf(path: string): string[] {
  const info = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

const graph = new Map(
  sourceFiles(SRC).map((path) => [relative(SRC, path).split('\\').join('/'), importsOf(path)] as const),
);

describe('layering of src/', () => {
  it('reads the imports of every source file', () => {
    expect(graph.size).toBeGreaterThan(100);
    const relativeImports = [...graph.values()].flat().filter((spec) => spec.startsWith('.'));
    expect(relativeImports.length).toBeGreaterThan(400);
    // Multi-line, type-only and dynamic imports are all seen.
    expect(graph.get('cli/main.ts')).toContain('./parser.js');
    expect(graph.get('exec/hand-over.ts')).toContain('./execve.js');
    expect(graph.get('simulate/in-process.ts')).toContain('./args.js');
  });

  it('has no import pointing up or sideways', () => {
    const wrong = [...graph].flatMap(([file, specs]) =>
      specs.map((spec) => wrongArrow(file, spec)).filter((w) => w !== undefined),
    );
    expect(wrong).toEqual([]);
  });

  it('names the file and the import of a wrong arrow', () => {
    expect(wrongArrow('simulate/command.ts', '../cli/context.js')).toBe(
      'src/simulate/command.ts imports ../cli/context.js: simulate → cli points up, to a layer that is not below simulate',
    );
    expect(wrongArrow('dns/client.ts', '../identity/sources.js')).toMatch(/dns → identity points up/);
    expect(wrongArrow('errors.ts', './dns/types.js')).toMatch(/core → dns points up/);
    expect(wrongArrow('manifest/options.ts', '../simulate/faults.js')).toMatch(
      /manifest → simulate points sideways/,
    );
    expect(wrongArrow('cli/main.ts', '../index.js')).toMatch(/cli → index points up/);
    expect(wrongArrow('tools/x.ts', '../errors.js')).toMatch(/folder tools\/ is in no layer/);
    expect(wrongArrow('cli/main.ts', '../rendezvous/wait.js')).toBeUndefined();
    expect(wrongArrow('dns/client.ts', './packet.js')).toBeUndefined();
    expect(wrongArrow('dns/client.ts', 'dns-packet')).toBeUndefined();
  });

  it('manifest does not load the agent (its defaults come from core)', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of graph.get(file) ?? []) {
        if (!spec.startsWith('.')) continue;
        visit(posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts'));
      }
    };
    for (const file of graph.keys()) if (file.startsWith('manifest/')) visit(file);
    const rendezvous = [...seen].filter((f) => f.startsWith('rendezvous/')).sort();
    expect(rendezvous).toEqual(['rendezvous/verify.ts']);
  });
});
