// Supervised mode (--no-exec, or no process.execve): signals forwarded exactly once, job control, PID 1.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORWARDED_SIGNALS } from '../../src/exec/signals.js';
import { runHarness, startHarness } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'rdv-supervise-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const names = FORWARDED_SIGNALS.map((s) => s.slice(3));

/** Wait (bounded) until /proc/<pid>/stat shows `state`. */
async function waitForState(pid: number, state: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === state) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`process ${pid} never reached state ${state}`);
}

describe('supervised mode', () => {
  it('forwards every forwardable signal exactly once, also when sent to the process group', async () => {
    const stop = join(work, 'stop');
    const traps = names.map((n) => `trap 'echo got ${n}' ${n};`).join(' ');
    const run = startHarness({
      mode: 'supervise',
      command: [
        'bash',
        '-c',
        `${traps} echo "pgrp $(cut -d' ' -f5 /proc/$$/stat)"; echo ready; while [ ! -e ${stop} ]; do sleep 0.05; done; echo bye`,
      ],
    });
    const agent = Number((await run.waitFor(/agent (\d+)/))[1]);
    await run.waitFor(/ready/);
    // The workload has its own process group (and session): group signals cannot reach it directly.
    expect(Number((await run.waitFor(/pgrp (\d+)/))[1])).not.toBe(agent);
    let expected = 0;
    const gotLines = () =>
      run
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('got '));
    const waitForCount = async (n: number) => {
      for (let i = 0; i < 400 && gotLines().length < n; i++) await new Promise((r) => setTimeout(r, 25));
    };
    for (const name of names.filter((n) => n !== 'TSTP' && n !== 'CONT')) {
      process.kill(agent, `SIG${name}` as NodeJS.Signals);
      await waitForCount(++expected);
    }
    // Ctrl-Z: the workload gets TSTP, then the agent stops itself so a shell sees the job stopped…
    process.kill(agent, 'SIGTSTP');
    await waitForCount(++expected);
    await waitForState(agent, 'T');
    // …and `fg` (SIGCONT to the agent) resumes both.
    process.kill(agent, 'SIGCONT');
    await waitForCount(++expected);
    // A signal to the agent's whole process group (a tty, timeout(1)) reaches the workload once, not twice.
    process.kill(-agent, 'SIGUSR2');
    await waitForCount(++expected);
    writeFileSync(stop, '');
    const r = await run.done;
    expect(r.code).toBe(0);
    const counts = new Map<string, number>();
    for (const l of gotLines()) counts.set(l.slice(4), (counts.get(l.slice(4)) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual(
      Object.fromEntries(names.map((n) => [n, n === 'USR2' ? 2 : 1])),
    );
  });

  it('as PID 1, exits 128+n for a workload killed by signal n (self-signals would be dropped)', async () => {
    const probe = spawnSync('unshare', ['--pid', '--fork', 'true']);
    if (probe.status !== 0) throw new Error(`unshare --pid needs root: ${probe.stderr}`);
    const r = await runHarness(
      { mode: 'supervise', command: ['sh', '-c', 'kill -TERM $$'] },
      { wrap: ['unshare', '--pid', '--fork'] },
    );
    expect(r.stdout).toMatch(/^agent 1$/m);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(143);
  });

  it('is what auto mode falls back to without process.execve (Node < 22.15)', async () => {
    const r = await runHarness({
      mode: 'auto',
      dropExecve: true,
      command: ['bash', '-c', 'echo "workload $$"; grep SigIgn /proc/self/status; exit 3'],
    });
    expect(/workload (\d+)/.exec(r.stdout)![1]).not.toBe(/agent (\d+)/.exec(r.stdout)![1]);
    expect(r.stdout).toMatch(/SigIgn:\s+0+\n/);
    expect(r.code).toBe(3);
  });

  it('re-raises the workload signal on itself when not PID 1', async () => {
    const r = await runHarness({ mode: 'supervise', command: ['sh', '-c', 'kill -TERM $$'] });
    expect(r.signal).toBe('SIGTERM');
  });

  it('re-raises SIGPIPE although Node ignores it', async () => {
    const r = await runHarness({ mode: 'supervise', command: ['sh', '-c', 'kill -PIPE $$'] });
    expect(r.signal).toBe('SIGPIPE');
  });
});
