// Signals at the agent's edges, with real processes: PID 1 of a PID namespace supervises by default (the
// kernel drops default-action signals to PID 1, so an exec'd `sleep` would ignore the kubelet's SIGTERM), and
// SIGUSR1 while waiting prints the progress line instead of opening Node's inspector on 127.0.0.1:9229.
import { spawnSync } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handOverMode } from '../../src/cli/commands/run.js';
import { startBin } from '../helpers/cli.js';
import { type LoopbackJob, loopbackJob, podFlags } from '../helpers/job.js';
import { childrenOf, commOf, listeningPorts, until } from '../helpers/proc.js';

const BLOCK = 53;
let job: LoopbackJob | undefined;
afterEach(async () => {
  await job?.close();
  job = undefined;
});

beforeAll(() => {
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
  if (probe.status !== 0) throw new Error(`unshare --pid --mount-proc needs root: ${probe.stderr}`);
});

/** The CLI as PID 1 of a new PID namespace; `agent()` is its PID as seen from here. */
function startAsPid1(argv: string[]) {
  const started = startBin(argv, {}, ['unshare', '--pid', '--fork', '--mount-proc']);
  const agent = () => until('the agent under unshare', () => childrenOf(started.child.pid!)[0]);
  return { ...started, agent };
}

describe('as PID 1 of its PID namespace', () => {
  it('supervises by default: SIGTERM from outside ends a handler-less `sleep 30` at once with 143', async () => {
    job = await loopbackJob(1, BLOCK);
    job.publish(0);
    const pod = startAsPid1([...podFlags(job, 0), '--', 'sleep', '30']);
    const agent = await pod.agent();
    // The workload is the agent's child (not the agent itself, as exec would make it).
    const sleeper = await until('the sleep workload', () =>
      childrenOf(agent).find((pid) => commOf(pid) === 'sleep'),
    );
    expect(commOf(agent)).not.toBe('sleep');
    process.kill(agent, 'SIGTERM');
    const r = await pod.done;
    // Had the SIGTERM been dropped, sleep would have run its 30 s and the code would be 0 (or the test's
    // SIGKILL at 30 s: null).
    expect(r.code, r.stderr).toBe(143);
    expect(commOf(sleeper)).toBeUndefined();
  });

  it("passes the workload's exit code on", async () => {
    job = await loopbackJob(1, BLOCK);
    job.publish(0);
    const r = await startAsPid1([...podFlags(job, 0), '--', 'sh', '-c', 'echo "pid $$"; exit 7']).done;
    expect(r.code, r.stderr).toBe(7);
    // The workload is not PID 1: the agent is.
    expect(r.stdout).toMatch(/^pid (?!1\n)\d+\n$/);
  });

  it('execs anyway with --exec: the agent process becomes the workload', async () => {
    job = await loopbackJob(1, BLOCK);
    job.publish(0);
    const pod = startAsPid1([...podFlags(job, 0), '--exec', '--', 'sleep', '30']);
    const agent = await pod.agent();
    await until('the agent to become sleep', () => commOf(agent) === 'sleep');
    expect(childrenOf(agent)).toEqual([]);
    process.kill(agent, 'SIGKILL');
    await pod.done;
  });
});

describe('handOverMode (pure)', () => {
  it('execs by default, supervises as PID 1; --exec forces exec, --no-exec and in-process supervise', () => {
    expect(handOverMode(undefined, true, 4242)).toBe('auto');
    expect(handOverMode(undefined, true, 1)).toBe('supervise');
    expect(handOverMode(true, true, 1)).toBe('auto');
    expect(handOverMode(true, true, 4242)).toBe('auto');
    expect(handOverMode(false, true, 4242)).toBe('supervise');
    expect(handOverMode(false, true, 1)).toBe('supervise');
    for (const exec of [undefined, true, false]) expect(handOverMode(exec, false, 4242)).toBe('supervise');
  });
});

describe('SIGUSR1 while waiting', () => {
  it('prints who is missing, keeps waiting, and opens no inspector (nothing listens on 9229)', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(1); // pod 0, the coordinator, never comes
    const pod = startBin([...podFlags(job, 1), '--', 'true']);
    await until('the first line', () => /index 1 of 2/.test(pod.stderr()));
    const lines = () =>
      pod
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('peer-rendezvous: waiting'));
    for (let i = 1; i <= 3; i++) {
      pod.child.kill('SIGUSR1');
      await until(`waiting line ${i}`, () => lines().length >= i);
    }
    expect(lines()[2]).toMatch(/^peer-rendezvous: waiting.*0 /);
    expect(pod.stderr()).not.toMatch(/Debugger listening/);
    // Only the rendezvous port (a member listens too, for the coordinator's announcements).
    for (const port of listeningPorts(pod.child.pid!)) expect(port).toBe(job.port);
    expect(pod.child.exitCode).toBeNull();
    pod.child.kill('SIGTERM');
    expect((await pod.done).code).toBe(143);
  });
});
