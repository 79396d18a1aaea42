// The code cache of the bundle (scripts/code-cache.mjs writes it, bin/peer-rendezvous.js reads it): made by
// the build for this Node, used when it matches, and ignored — never trusted — when it does not.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(root, 'dist');

/** Run a copy's bin with NODE_DEBUG=peer-rendezvous: the cache's verdict is on stderr. */
function run(binDir: string, argv: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(binDir, 'bin', 'peer-rendezvous.js'), ...argv], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_DEBUG: 'peer-rendezvous', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the built code cache', () => {
  it('is there after the build, made from this bundle for this Node, and accepted', () => {
    const bundle = readFileSync(join(dist, 'cli.cjs'), 'utf8');
    const build = /^\/\/ peer-rendezvous build ([0-9a-f]{16})\n/.exec(bundle)?.[1];
    expect(build).toBeDefined();
    const cache = readFileSync(join(dist, 'cli.cjs.v8cache'));
    const header = JSON.parse(cache.subarray(0, cache.indexOf(10)).toString('utf8'));
    expect(header).toEqual({ build, node: process.version, arch: process.arch });
    // Taken after a member ran: far more than the functions compiled at load (~110 KB).
    expect(cache.length).toBeGreaterThan(300_000);
    const r = run(root, ['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    expect(r.stderr).toContain('peer-rendezvous: code cache: accepted');
  });

  it('every pod of a loopback mesh simulation loads through it and is released', () => {
    const r = run(root, ['simulate', '-n', '3', '--verify', 'mesh', '--timeout', '30s', '--', 'true']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('3/3 released, 3/3 exited 0');
    // The simulation's own process and its three pods.
    expect(r.stderr.match(/code cache: accepted/g)).toHaveLength(4);
  });
});

describe('a code cache that does not match', () => {
  let copy: string;
  let good: Buffer;

  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), 'prdv-code-cache-test-'));
    mkdirSync(join(copy, 'dist'));
    cpSync(join(root, 'bin'), join(copy, 'bin'), { recursive: true });
    writeFileSync(join(copy, 'package.json'), '{ "type": "module" }\n');
    for (const f of ['cli.cjs', 'yargs.cjs', 'yargs'])
      cpSync(join(dist, f), join(copy, 'dist', f), { recursive: true });
    good = readFileSync(join(dist, 'cli.cjs.v8cache'));
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  /** Install `cache` (undefined: none) in the copy, run --version; the version must come out regardless. */
  function withCache(cache: Buffer | string | undefined, env: Record<string, string> = {}): string {
    const file = join(copy, 'dist', 'cli.cjs.v8cache');
    rmSync(file, { force: true });
    if (cache !== undefined) writeFileSync(file, cache);
    const r = run(copy, ['--version'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
    return r.stderr;
  }

  const header = (o: Record<string, string>) => {
    const end = good.indexOf(10);
    const h = { ...JSON.parse(good.subarray(0, end).toString('utf8')), ...o };
    return Buffer.concat([Buffer.from(`${JSON.stringify(h)}\n`), good.subarray(end + 1)]);
  };

  it('the copy of the good one is accepted (the harness is sound)', () => {
    expect(withCache(good)).toContain('code cache: accepted');
  });

  it('of another build is not used', () => {
    expect(withCache(header({ build: '0123456789abcdef' }))).toContain(
      'made for build 0123456789abcdef on Node',
    );
  });

  it('of another Node version or architecture is not used', () => {
    expect(withCache(header({ node: 'v22.15.0' }))).toMatch(/on Node v22\.15\.0 \S+: not used/);
    expect(withCache(header({ arch: 'arm64' }))).toMatch(/ arm64: not used/);
  });

  it('with an unreadable header is not used', () => {
    expect(withCache('not json\nxyz')).toContain('unreadable header: not used');
    expect(withCache('')).toContain('unreadable header: not used');
    expect(withCache('null\n')).toContain('unreadable header: not used');
    expect(withCache('{"build":')).toContain('unreadable header: not used');
  });

  it('cut short is rejected by V8 and the bundle compiled anew', () => {
    const cut = good.subarray(0, good.indexOf(10) + 1 + 4096);
    expect(withCache(cut)).toContain('rejected by V8');
  });

  it('absent, or turned off with NODE_DISABLE_COMPILE_CACHE=1, is not looked for', () => {
    expect(withCache(undefined)).toContain('code cache: none at');
    expect(withCache(good, { NODE_DISABLE_COMPILE_CACHE: '1' })).toContain(
      'code cache: off (NODE_DISABLE_COMPILE_CACHE=1)',
    );
  });

  it('says nothing without NODE_DEBUG', () => {
    expect(withCache(good, { NODE_DEBUG: '' })).toBe('');
  });
});
