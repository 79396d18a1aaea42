// `run` end to end: real agent processes on 127.51.0.x with the project's DNS server, then the workload.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startBin } from '../helpers/cli.js';
import { freePort, JOB, type LoopbackJob, loopbackJob, NS, podFlags, SVC } from '../helpers/job.js';

const BLOCK = 51;
const HOLD = fileURLToPath(new URL('./fixtures/hold-signals.mjs', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'rdv-run-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let job: LoopbackJob | undefined;
afterEach(async () => {
  await job?.close();
  job = undefined;
});

const fqdn = (i: number) => `${JOB}-${i}.${SVC}.${NS}.svc.cluster.local`;

const WORKLOAD =
  'echo "pid $$"; env | grep -E "^(PEER_|MASTER_|RANK=|WORLD_SIZE=)" | sort; grep SigIgn /proc/self/status; for i in {3..1023}; do [ -e /proc/$$/fd/$i ] && echo "fd $i"; done; exit $((PEER_INDEX * 42))';

describe('run', () => {
  it('execs the workload in the agent process with the exports; exit codes pass through', async () => {
    job = await loopbackJob(2, BLOCK);
    for (const i of [0, 1]) job.publish(i);
    const pods = [0, 1].map((i) =>
      startBin([...podFlags(job!, i), '--export', 'torch', '--', 'bash', '-c', WORKLOAD]),
    );
    const ended = await Promise.all(pods.map((p) => p.done));
    for (const [i, r] of ended.entries()) {
      expect(r.code, r.stderr).toBe(i * 42);
      expect(r.stdout).toContain(`pid ${r.pid}\n`);
      expect(r.stdout).toContain(`PEER_INDEX=${i}\n`);
      expect(r.stdout).toContain('PEER_COUNT=2\n');
      expect(r.stdout).toContain(`PEER_HOSTS=${fqdn(0)},${fqdn(1)}\n`);
      expect(r.stdout).toContain(`PEER_COORDINATOR=${fqdn(0)}\n`);
      expect(r.stdout).toContain(`MASTER_ADDR=${fqdn(0)}\nMASTER_PORT=29500\n`);
      expect(r.stdout).toContain(`RANK=${i}\n`);
      expect(r.stdout).toMatch(/SigIgn:\s+0+\n/);
      // The agent's sockets (rendezvous, DNS) are close-on-exec: only 0-2 reach the workload.
      expect(r.stdout).not.toMatch(/^fd /m);
      expect(r.stderr).not.toMatch(/ExperimentalWarning/);
    }
  });

  it('with --no-exec supervises the workload as a child and passes its code on', async () => {
    job = await loopbackJob(2, BLOCK);
    for (const i of [0, 1]) job.publish(i);
    const pods = [0, 1].map((i) =>
      startBin([...podFlags(job!, i), '--no-exec', '--', 'bash', '-c', WORKLOAD]),
    );
    const ended = await Promise.all(pods.map((p) => p.done));
    for (const [i, r] of ended.entries()) {
      expect(r.code, r.stderr).toBe(i * 42);
      expect(r.stdout).toMatch(/pid \d+\n/);
      expect(r.stdout).not.toContain(`pid ${r.pid}\n`);
      expect(r.stdout).toMatch(/SigIgn:\s+0+\n/);
    }
  });

  it('exits 143 on SIGTERM before release, and the workload never starts', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(1);
    const marker = join(work, 'started');
    const pod = startBin([...podFlags(job, 1), '--', 'touch', marker]);
    for (let i = 0; i < 400 && !/index 1 of 2/.test(pod.stderr()); i++)
      await new Promise((r) => setTimeout(r, 25));
    pod.child.kill('SIGTERM');
    const r = await pod.done;
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(/interrupted by SIGTERM while waiting for peers/);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['hold', 143, null],
    ['nohold', null, 'SIGTERM'],
  ] as const)(
    'a signal after release but before the workload: with the handlers held (%s) exit %s, else signal %s',
    async (mode, code, signal) => {
      // The window is milliseconds in `run`; the fixture holds it open (10 s) after a one-pod release.
      const child = spawn(process.execPath, [HOLD, String(await freePort()), mode], { stdio: 'pipe' });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const ended = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('close', (c, s) => resolve([c, s])),
      );
      for (let i = 0; i < 400 && !stdout.includes('released'); i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(stdout).toContain('released');
      child.kill('SIGTERM');
      expect(await ended).toEqual([code, signal]);
      expect(stdout).not.toContain('workload would start');
      if (mode === 'hold') {
        expect(stderr).toContain('interrupted by SIGTERM after release, before the workload started');
      }
    },
  );

  it('exits 127 before waiting when the command is not on PATH', async () => {
    job = await loopbackJob(2, BLOCK);
    const flags = podFlags(job, 1).map((f) => (f === '20s' ? '10m' : f));
    const r = await startBin([...flags, '--', 'no-such-workload'], { PATH: `${work}/bin` }).done;
    expect(r.code).toBe(127);
    expect(r.stderr).toContain(`command "no-such-workload" not found: tried ${work}/bin/no-such-workload`);
    expect(r.stderr).not.toMatch(/index 1 of 2/);
  });

  it('says how to name the command when -- is missing (64)', async () => {
    const r = await startBin(['run', '--index', '0']).done;
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/name the command to run after --/);
  });

  it('rejects a bad --export before waiting (64), naming the value', async () => {
    const r = await startBin(['--export', 'torch,horovod', '--', 'true']).done;
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/flag --export names "horovod", which is not a preset/);
  });
});
