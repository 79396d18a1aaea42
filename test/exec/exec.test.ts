// The hand-over with real processes: the workload replaces the agent (execve) or runs under it (supervised).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { maskSignals, runHarness, startHarness } from './harness.js';

const SIGPIPE = 13;
const SIGXFSZ = 25;
const work = mkdtempSync(join(tmpdir(), 'rdv-exec-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const LIST_FDS =
  'for i in {3..1023}; do [ -e /proc/$$/fd/$i ] && echo "fd $i $(readlink /proc/$$/fd/$i)"; done; true';

describe.each(['exec', 'supervise'] as const)('%s mode', (mode) => {
  it(mode === 'exec' ? 'keeps the PID, no warning on stderr' : 'runs the workload as a child', async () => {
    const r = await runHarness({ mode, command: ['bash', '-c', 'echo "workload $$"'] });
    const agent = /agent (\d+)/.exec(r.stdout)![1];
    const workload = /workload (\d+)/.exec(r.stdout)![1];
    if (mode === 'exec') expect(workload).toBe(agent);
    else expect(workload).not.toBe(agent);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('starts the workload with SIGPIPE and SIGXFSZ at their default action', async () => {
    const r = await runHarness({
      mode,
      printOwnStatus: true,
      command: ['grep', '^Sig', '/proc/self/status'],
    });
    // Node itself ignores both: the check below is not vacuous.
    const own = BigInt(`0x${/agent-sigign (\S+)/.exec(r.stdout)![1]}`);
    expect((own >> BigInt(SIGPIPE - 1)) & 1n).toBe(1n);
    expect((own >> BigInt(SIGXFSZ - 1)) & 1n).toBe(1n);
    const workload = r.stdout.slice(r.stdout.indexOf('SigQ'));
    expect(maskSignals(workload, 'SigIgn')).not.toContain(SIGPIPE);
    expect(maskSignals(workload, 'SigIgn')).not.toContain(SIGXFSZ);
    expect(maskSignals(workload, 'SigIgn')).toEqual([]);
    expect(maskSignals(workload, 'SigBlk')).toEqual([]);
  });

  it('passes only fds 0-2, though the agent inherited fds 3-4 and opened its own', async () => {
    const r = await runHarness({ mode, command: ['bash', '-c', LIST_FDS] }, { extraFds: 2 });
    expect(r.stdout.split('\n').filter((l) => l.startsWith('fd '))).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('passes only fds 0-2 when the hand-over was prepared while waiting (descriptor snapshot)', async () => {
    const r = await runHarness({ mode, prepare: true, command: ['bash', '-c', LIST_FDS] }, { extraFds: 2 });
    expect(r.stdout.split('\n').filter((l) => l.startsWith('fd '))).toEqual([]);
    expect(r.code).toBe(0);
  });

  it.each([0, 1, 42])('passes exit code %i through', async (code) => {
    const r = await runHarness({ mode, command: ['sh', '-c', `exit ${code}`] });
    expect(r.code).toBe(code);
    expect(r.signal).toBeNull();
  });

  it('ends by SIGKILL when the workload is killed by it: a shell sees 137', async () => {
    const r = await runHarness({ mode, command: ['sh', '-c', 'kill -KILL $$'] });
    expect(r.signal).toBe('SIGKILL');
    const shell = await runHarness(
      { mode, command: ['sh', '-c', 'kill -KILL $$'] },
      { wrap: ['bash', '-c', '"$@"; echo "status $?"', 'bash'] },
    );
    expect(shell.stdout).toMatch(/status 137/);
  });

  it('lets SIGTERM sent to the PID reach the workload (trap, exit 0)', async () => {
    const run = startHarness({
      mode,
      command: ['bash', '-c', 'trap "echo trapped; exit 0" TERM; echo ready; while :; do sleep 0.05; done'],
    });
    await run.waitFor(/ready/);
    run.child.kill('SIGTERM');
    // If this ever hangs, say what is still running and what was printed (it did once in a full CI run).
    const stuck = setTimeout(() => {
      const ps = spawnSync('ps', ['-eo', 'pid,ppid,pgid,sid,stat,args'], { encoding: 'utf8' }).stdout;
      const mine = ps.split('\n').filter((l) => /harness|trap|sleep 0\.05/.test(l));
      process.stderr.write(
        `SIGTERM test still waiting after 15 s\nstdout: ${run.stdout()}\nprocesses:\n${mine.join('\n')}\n`,
      );
    }, 15_000);
    const r = await run.done.finally(() => clearTimeout(stuck));
    expect(r.stdout).toMatch(/trapped/);
    expect(r.code).toBe(0);
  });

  it('exits 127 naming every PATH entry tried; the workload never starts', async () => {
    const r = await runHarness(
      { mode, command: ['no-such-command-rdv'] },
      { env: { PATH: `${work}/a:${work}/b` } },
    );
    expect(r.code).toBe(127);
    expect(r.stderr).toContain(
      `command "no-such-command-rdv" not found: tried ${work}/a/no-such-command-rdv, ${work}/b/no-such-command-rdv [RDV_ERR_COMMAND_NOT_FOUND]`,
    );
  });

  it('exits 126 for a file that is not executable, naming it', async () => {
    const file = join(work, `plain-${mode}`);
    writeFileSync(file, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const r = await runHarness({ mode, command: [file] });
    expect(r.code).toBe(126);
    expect(r.stderr).toContain(
      `${file} is not executable (permission denied) [RDV_ERR_COMMAND_NOT_EXECUTABLE]`,
    );
  });

  it('exits 126, not a Node abort, for a script whose interpreter is missing', async () => {
    const file = join(work, `bad-interp-${mode}`);
    writeFileSync(file, '#!/nonexistent/python3 -u\nprint(1)\n', { mode: 0o755 });
    const r = await runHarness({ mode, command: [file] });
    expect(r.code).toBe(126);
    expect(r.stderr).toContain('its #! interpreter /nonexistent/python3 does not exist');
  });
});

describe('execve safety checks', () => {
  it('refuses an ELF binary whose loader is missing (126) instead of aborting', async () => {
    const bin = join(work, 'true-other-libc');
    copyFileSync('/bin/true', bin);
    const bytes = readFileSync(bin);
    // The dynamic loader's path (PT_INTERP), e.g. /lib64/ld-linux-x86-64.so.2 or /lib/ld-linux-aarch64.so.1.
    const loader = /\/lib[\w/-]*\/ld-[^\0]+/.exec(bytes.toString('latin1'));
    if (!loader) throw new Error('this test expects a dynamically linked /bin/true');
    const missing = `/nowhere/${'x'.repeat(loader[0].length - 9)}`;
    bytes.write(missing, loader.index, 'latin1');
    writeFileSync(bin, bytes);
    chmodSync(bin, 0o755);
    const r = await runHarness({ mode: 'exec', command: [bin] });
    expect(r.code).toBe(126);
    expect(r.stderr).toContain(`its ELF interpreter ${missing} does not exist`);
  });

  it('refuses a file with no #! line and no ELF header (ENOEXEC) with 126', async () => {
    const file = join(work, 'no-shebang');
    writeFileSync(file, 'echo hi\n', { mode: 0o755 });
    const r = await runHarness({ mode: 'exec', command: [file] });
    expect(r.code).toBe(126);
    expect(r.stderr).toContain('neither a #! script nor an ELF binary');
  });

  it('refuses an export over the per-string limit (E2BIG) with 126: TF_CONFIG of 3000 pods', async () => {
    const r = await runHarness({ mode: 'exec', count: 3000, export: 'tf', command: ['true'] });
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/variable TF_CONFIG is \d+ bytes, over Linux's 131072 per string \(E2BIG\)/);
  });
});
