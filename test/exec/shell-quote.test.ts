import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonExports, shellExports, shellQuote } from '../../src/exec/shell-quote.js';
import { makeExportDir, writeExportFiles } from '../../src/exec/write-files.js';
import { evalInBash } from '../helpers/bash.js';

const HOSTILE: Record<string, string> = {
  V_SPACES: '  two  spaces  ',
  V_SINGLE: "it's 'quoted'",
  V_DOUBLE: 'say "hi"',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion that must stay literal
  V_SUBST: '$(touch /tmp/pwned-by-rdv) ${HOME} $HOME',
  V_BACKTICK: '`id` \\`x\\`',
  V_NEWLINES: 'line1\nline2\n\nline4\n',
  V_UNICODE: 'ünïcødé 🚀 \u00a0\u2028',
  V_EMPTY: '',
  V_GLOB: '* ? [a-z] ~ ; & | < > # !',
  V_BACKSLASH: '\\n \\ \\\\',
  V_CONTROL: '\t\r\x01\x7f',
};

describe('shell output', () => {
  it('quotes with single quotes only', () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
    expect(shellExports({ A: 'x y', B: '' })).toBe("export A='x y'\nexport B=''\n");
  });

  it('survives eval "$(…)" in bash unchanged, running nothing', () => {
    expect(evalInBash(shellExports(HOSTILE), Object.keys(HOSTILE))).toEqual(Object.values(HOSTILE));
  });

  it('survives in dash (POSIX sh) too', () => {
    const script = shellExports(HOSTILE);
    const r = spawnSync(
      'sh',
      ['-c', `eval "$1"; printf '%s' "$V_SUBST|$V_NEWLINES|$V_SINGLE"`, 'sh', script],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stdout).toBe(`${HOSTILE.V_SUBST}|${HOSTILE.V_NEWLINES}|${HOSTILE.V_SINGLE}`);
  });

  it('refuses a name a shell cannot assign', () => {
    expect(() => shellExports({ 'A-B': '1' })).toThrow(TypeError);
  });
});

describe('json output', () => {
  it('is one object that parses back to the same values', () => {
    const out = jsonExports(HOSTILE);
    expect(out.endsWith('}\n')).toBe(true);
    expect(out.split('\n')).toHaveLength(2);
    expect(JSON.parse(out)).toEqual(HOSTILE);
  });
});

describe('writeExportFiles', () => {
  const parent = mkdtempSync(join(tmpdir(), 'rdv-write-'));
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('creates parents, replaces old content, and leaves no temporary files', () => {
    const path = join(parent, 'job', 'hostfile');
    writeExportFiles([{ path, content: 'old\n' }]);
    writeExportFiles([{ path, content: 'a slots=1\n' }]);
    expect(readFileSync(path, 'utf8')).toBe('a slots=1\n');
    expect(readdirSync(join(parent, 'job'))).toEqual(['hostfile']);
    expect(statSync(path).mode & 0o777).toBe(0o644 & ~process.umask());
  });

  it('says which file it could not write', () => {
    const blocker = join(parent, 'not-a-dir');
    writeFileSync(blocker, '');
    expect(() => writeExportFiles([{ path: join(blocker, 'x'), content: '' }])).toThrow(
      new RegExp(`cannot write ${blocker}/x`),
    );
  });

  it('makes a private directory for files without a path', () => {
    const dir = makeExportDir(parent);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});
