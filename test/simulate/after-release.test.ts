// `simulate` after the release: --restart of a released pod in every placement (exec mode: the replacement's
// verdict, exit 75; --sidecar: it rejoins and its workload runs), through the built CLI.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { listNetns } from '../../src/simulate/netns-teardown.js';
import { requireNetns } from '../e2e/root.js';
import { BIN } from '../helpers/cli.js';

const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function simulate(
  argv: string[],
  ms = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  const child = spawn(process.execPath, [BIN, 'simulate', ...argv], { env: ENV });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGINT'), ms);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, pid: child.pid! });
    }),
  );
}

// The workload also says how many of the agent's PEER_RENDEZVOUS_* settings reached it (none should).
const WORKLOAD = [
  '--',
  'sh',
  '-c',
  'echo "rank $PEER_INDEX of $PEER_COUNT, agent settings $(env | grep -c ^PEER_RENDEZVOUS_)"; sleep 3',
];

describe('simulate --restart after the release', () => {
  it('loopback, exec mode: the replaced member exits 75 with the verdict, the others 0', async () => {
    // Timed from the release, not the start: on a loaded machine the pods may not have released by 1.5 s.
    const r = await simulate([
      '-n',
      '3',
      '--restart',
      '2@released+500ms',
      '--released-after',
      '1s',
      ...WORKLOAD,
    ]);
    expect(r.code, r.stderr).toBe(75);
    expect(r.stderr).toMatch(/example-job-2 \| peer-rendezvous: the other pods were most likely released/);
    expect(r.stderr).toMatch(/^example-job-2\s+\S+\s+-\s+75\s+restarted at released \+ 0\.5 s$/m);
    expect(r.stderr).toMatch(/^example-job-0\s+\S+\s+\S+ m?s\s+0\s*$/m);
  }, 60_000);

  it('in-process: a replaced pod 0 gets RDV_ERR_RELEASED, exit 75', async () => {
    const r = await simulate([
      '-n',
      '3',
      '--in-process',
      '--restart',
      '0@released+500ms',
      '--released-after',
      '1s',
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(75);
    expect(r.stderr).toMatch(/example-job-0: restarted on a new address \(--restart\), after the release/);
    expect(r.stdout).toMatch(/example-job-0: RDV_ERR_RELEASED: .* this pod \(index 0\) is a replacement/);
  }, 60_000);

  it('loopback --sidecar: a member and then pod 0 are replaced, rejoin with the first generation, every workload exits 0', async () => {
    const r = await simulate([
      '-n',
      '3',
      '--sidecar',
      '--restart',
      '2@released+500ms',
      '--restart',
      '0@released+1500ms',
      ...WORKLOAD,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const generations = new Set([...r.stderr.matchAll(/generation ([0-9a-f]{16})/g)].map((m) => m[1]));
    expect(generations.size).toBe(1);
    expect(r.stderr).toMatch(/example-job-0 \| peer-rendezvous: pod 2 was replaced: it rejoined from/);
    expect(r.stderr).toMatch(/example-job-0 \| peer-rendezvous: this pod replaces index 0 of a released job/);
    expect(r.stdout.match(/rank 2 of 3/g)).toHaveLength(2);
    expect(r.stdout.match(/rank 0 of 3/g)).toHaveLength(2);
    // As with manifest --sidecar: the main container gets the exports, not the agent's settings.
    expect(r.stdout.match(/agent settings 0/g)).toHaveLength(5);
    expect(r.stderr).toMatch(/3\/3 released, 3\/3 exited 0/);
    expect(r.stderr).toMatch(/SIGTERM after the release: exiting 0/);
  }, 60_000);

  it('--netns: exec-mode verdict and sidecar rejoin in namespaces, nothing left behind', async () => {
    requireNetns();
    const exec = await simulate(
      ['-n', '3', '--netns', '--restart', '2@released+500ms', '--released-after', '1s', ...WORKLOAD],
      90_000,
    );
    expect(exec.code, exec.stderr).toBe(75);
    expect(exec.stderr).toMatch(/this pod \(index 2\) is a replacement/);
    const side = await simulate(
      ['-n', '3', '--netns', '--sidecar', '--restart', '0@released+500ms', ...WORKLOAD],
      90_000,
    );
    expect(side.code, side.stderr).toBe(0);
    expect(side.stderr).toMatch(/this pod replaces index 0 of a released job/);
    for (const r of [exec, side])
      expect(listNetns().filter((n) => n.startsWith(`prdv-${r.pid}-`))).toEqual([]);
  }, 200_000);
});
