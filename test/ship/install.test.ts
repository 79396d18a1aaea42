import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installExecutable } from '../../src/cli/commands/install.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'rdv-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for the single executable: what matters here is the copy, not the contents. */
function fakeExe(content: string): string {
  const file = join(dir, `exe-${Math.random().toString(16).slice(2)}`);
  writeFileSync(file, content);
  chmodSync(file, 0o700);
  return file;
}
const sea = (execPath: string) => ({ isSea: () => true, execPath, binScript: '/unused' });

describe('install', () => {
  it('refuses under Node with a configuration error that says what to use instead (exit 78)', async () => {
    const r = await runCli(['install', join(dir, 'never')]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(
      /install copies the single executable, but this peer-rendezvous runs as a Node script/,
    );
    expect(r.stderr).toMatch(/npm run build:exe/);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('copies the running executable with mode 0755, creating the directory, leaving no temp file', async () => {
    const exe = fakeExe('#!/bin/sh\necho one\n');
    const target = join(dir, 'shared', 'volume');
    const r = await installExecutable({ dir: target, self: sea(exe) });
    expect(r.path).toBe(join(target, 'peer-rendezvous'));
    expect(readFileSync(r.path, 'utf8')).toBe('#!/bin/sh\necho one\n');
    expect(statSync(r.path).mode & 0o777).toBe(0o755);
    expect(readdirSync(target)).toEqual(['peer-rendezvous']);
  });

  it('replaces an existing copy in one rename (a reader sees the old or the new file, never a part)', async () => {
    const target = join(dir, 'replace');
    await installExecutable({ dir: target, self: sea(fakeExe('old')) });
    const before = statSync(join(target, 'peer-rendezvous')).ino;
    await installExecutable({ dir: target, self: sea(fakeExe('new')) });
    expect(readFileSync(join(target, 'peer-rendezvous'), 'utf8')).toBe('new');
    expect(statSync(join(target, 'peer-rendezvous')).ino).not.toBe(before);
    expect(readdirSync(target)).toEqual(['peer-rendezvous']);
  });

  it('installs under another --name, and refuses a name with a slash', async () => {
    const r = await installExecutable({ dir: join(dir, 'named'), name: 'rdv', self: sea(fakeExe('x')) });
    expect(r.path).toBe(join(dir, 'named', 'rdv'));
    await expect(installExecutable({ dir, name: '../rdv', self: sea(fakeExe('x')) })).rejects.toBeInstanceOf(
      UsageError,
    );
  });

  it('reports a directory it cannot write to as a configuration error and cleans up', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const err = await installExecutable({ dir: join(file, 'sub'), self: sea(fakeExe('x')) }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/cannot install .* into ".*a-file\/sub": ENOTDIR/);
  });
});
