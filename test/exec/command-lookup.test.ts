import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandError } from '../../src/errors.js';
import { resolveCommand } from '../../src/exec/command-lookup.js';
import { assertExecSize, MAX_ARG_STRLEN } from '../../src/exec/exec-limits.js';
import { inheritableFds, snapshotFds } from '../../src/exec/fds.js';
import { reraiseSignal } from '../../src/exec/signals.js';

const root = mkdtempSync(join(tmpdir(), 'rdv-lookup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const a = join(root, 'a');
const b = join(root, 'b');
mkdirSync(a);
mkdirSync(b);
const script = (path: string, mode: number) => writeFileSync(path, '#!/bin/sh\nexit 0\n', { mode });
script(join(a, 'tool'), 0o644); // found first, not executable
script(join(b, 'tool'), 0o755);
mkdirSync(join(a, 'dir-only'));
script(join(root, 'local'), 0o755);
symlinkSync(join(b, 'tool'), join(a, 'linked'));

const lookup = (cmd: string, PATH: string | undefined, cwd = root) =>
  resolveCommand(cmd, ['x', 'y'], { env: PATH === undefined ? {} : { PATH }, cwd });

function thrown(fn: () => unknown): CommandError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CommandError) return error;
    throw error;
  }
  throw new Error('expected a CommandError');
}

describe('resolveCommand', () => {
  it('skips a non-executable match and takes a later PATH entry, like execvp', () => {
    const r = lookup('tool', `${a}:${b}`);
    expect(r.file).toBe(join(b, 'tool'));
    expect(r.argv).toEqual(['tool', 'x', 'y']);
    expect(r.tried).toEqual([join(a, 'tool'), join(b, 'tool')]);
  });

  it('follows symlinks and keeps argv[0] as written', () => {
    expect(lookup('linked', a).file).toBe(join(a, 'linked'));
  });

  it('reads an empty PATH entry as the current directory', () => {
    expect(lookup('local', `${a}::${b}`).file).toBe(join(root, 'local'));
  });

  it('uses a name with a slash as it is, relative to cwd', () => {
    expect(lookup('./local', '/nowhere').file).toBe(join(root, 'local'));
    expect(lookup('b/tool', '/nowhere').file).toBe(join(b, 'tool'));
  });

  it('127 with every path tried', () => {
    const e = thrown(() => lookup('nope', `${a}:${b}`));
    expect(e.code).toBe('RDV_ERR_COMMAND_NOT_FOUND');
    expect(e.tried).toEqual([join(a, 'nope'), join(b, 'nope')]);
    expect(e.message).toBe(`command "nope" not found: tried ${join(a, 'nope')}, ${join(b, 'nope')}`);
  });

  it('127 for a path that does not exist', () => {
    const e = thrown(() => lookup('./missing', undefined));
    expect(e.code).toBe('RDV_ERR_COMMAND_NOT_FOUND');
    expect(e.message).toBe('command "./missing" not found: ./missing does not exist');
  });

  it('126 when the only match is not executable, or a directory', () => {
    const e = thrown(() => lookup('tool', a));
    expect(e.code).toBe('RDV_ERR_COMMAND_NOT_EXECUTABLE');
    expect(e.message).toBe(`cannot execute "tool": ${join(a, 'tool')} is not executable (permission denied)`);
    expect(thrown(() => lookup('dir-only', a)).message).toContain(`${join(a, 'dir-only')} is a directory`);
  });

  it('126 for a #! line with a Windows line ending, saying so', () => {
    const f = join(root, 'crlf');
    writeFileSync(f, '#!/bin/sh\r\necho hi\r\n', { mode: 0o755 });
    const e = thrown(() => lookup('./crlf', undefined));
    expect(e.code).toBe('RDV_ERR_COMMAND_NOT_EXECUTABLE');
    expect(e.message).toContain(
      'its #! line ends in a carriage return (Windows line endings): the kernel looks for "/bin/sh\\r"',
    );
  });

  it('searches /bin:/usr/bin when PATH is unset', () => {
    expect(lookup('sh', undefined).tried[0]).toBe('/bin/sh');
  });

  it('refuses an empty command', () => {
    expect(thrown(() => lookup('', a)).code).toBe('RDV_ERR_COMMAND_NOT_FOUND');
  });

  it('accepts an executable-only (not readable) file without reading it', () => {
    const f = join(root, 'xonly');
    script(f, 0o755);
    chmodSync(f, 0o111);
    expect(lookup('./xonly', undefined).file).toBe(f);
  });
});

describe('assertExecSize', () => {
  it('passes ordinary sizes and names the variable over the per-string limit', () => {
    expect(() => assertExecSize('t', ['t'], { A: 'x'.repeat(1000) }, 1 << 21)).not.toThrow();
    expect(() => assertExecSize('t', ['t'], { BIG: 'x'.repeat(MAX_ARG_STRLEN) }, 1 << 30)).toThrow(
      /variable BIG is 131077 bytes, over Linux's 131072 per string/,
    );
  });

  it('checks the total against the limit', () => {
    const env = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`V${i}`, 'x'.repeat(100_000)]));
    expect(() => assertExecSize('t', ['t'], env, 2 * 1024 * 1024)).not.toThrow();
    expect(() => assertExecSize('t', ['t'], { ...env, V20: 'x'.repeat(100_000) }, 2 * 1024 * 1024)).toThrow(
      /over the 2097152 the kernel allows/,
    );
  });
});

describe('inheritableFds', () => {
  it('lists descriptors above 2 whose flags lack O_CLOEXEC', () => {
    const proc = join(root, 'proc');
    mkdirSync(join(proc, 'fd'), { recursive: true });
    mkdirSync(join(proc, 'fdinfo'));
    const fds: [number, string][] = [
      [0, '0100002'],
      [3, '02100000'],
      [4, '0100000'],
      [7, '02'],
      [9, '02004002'],
    ];
    for (const [fd, flags] of fds) {
      writeFileSync(join(proc, 'fd', String(fd)), '');
      writeFileSync(join(proc, 'fdinfo', String(fd)), `pos:\t0\nflags:\t${flags}\nmnt_id:\t1\n`);
    }
    expect(inheritableFds(proc).sort()).toEqual([4, 7]);
    expect(inheritableFds(join(root, 'no-proc'))).toEqual([]);
  });

  it('trusts a snapshot for close-on-exec descriptors, and reads those opened since and the inherited ones', () => {
    const proc = join(root, 'proc-snap');
    mkdirSync(join(proc, 'fd'), { recursive: true });
    mkdirSync(join(proc, 'fdinfo'));
    const put = (fd: number, flags: string) => {
      writeFileSync(join(proc, 'fd', String(fd)), '');
      writeFileSync(join(proc, 'fdinfo', String(fd)), `pos:\t0\nflags:\t${flags}\nmnt_id:\t1\n`);
    };
    put(3, '02100000');
    put(4, '0100000');
    const snapshot = snapshotFds(proc)!;
    expect([...snapshot.seen].sort()).toEqual([3, 4]);
    expect([...snapshot.inheritable]).toEqual([4]);
    // fdinfo of a descriptor known to be close-on-exec is not read again (this content would say otherwise) ...
    put(3, '0100000');
    // ... descriptors opened after the snapshot are read ...
    put(11, '0100002');
    put(12, '02000002');
    expect(inheritableFds(proc, snapshot).sort((a, b) => a - b)).toEqual([4, 11]);
    // ... and so are the inherited ones: closed since and the number reused by a close-on-exec descriptor
    // Node opened, it must stay open.
    put(4, '02100000');
    expect(inheritableFds(proc, snapshot).sort((a, b) => a - b)).toEqual([11]);
    expect(snapshotFds(join(root, 'no-proc'))).toBeUndefined();
  });
});

describe('reraiseSignal', () => {
  function fakeProc(pid: number) {
    const calls: string[] = [];
    const listeners = new Map<string, number>([['SIGTERM', 2]]);
    return {
      calls,
      proc: {
        pid,
        on: (s: string) => {
          calls.push(`on ${s}`);
          return undefined as never;
        },
        off: (s: string) => {
          calls.push(`off ${s}`);
          return undefined as never;
        },
        removeAllListeners: (s: string) => {
          calls.push(`removeAll ${s}`);
          listeners.delete(s);
          return undefined as never;
        },
        listenerCount: (s: string) => listeners.get(s) ?? 0,
        kill: (p: number, s: string) => {
          calls.push(`kill ${p} ${s}`);
          return true;
        },
      },
    };
  }

  it('removes its listeners, resets the disposition, then signals itself', () => {
    const { proc, calls } = fakeProc(4242);
    expect(reraiseSignal('SIGTERM', proc as never)).toBe(true);
    expect(calls).toEqual(['removeAll SIGTERM', 'on SIGTERM', 'off SIGTERM', 'kill 4242 SIGTERM']);
  });

  it('does nothing as PID 1, where the kernel drops it: the caller exits 128+n', () => {
    const { proc, calls } = fakeProc(1);
    expect(reraiseSignal('SIGTERM', proc as never)).toBe(false);
    expect(calls).toEqual([]);
  });
});
