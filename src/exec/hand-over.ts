// The hand-over after release: exec the workload where Node can, otherwise supervise it as a child.
// Both ways are imported on use: a pod's agent loads neither worker_threads nor child_process on its way to
// the first DNS query (start-up time, bench/results.md); `run` loads them while it waits (prepareHandOver).
// Signals: `run` keeps its own handlers until supervise's are installed (`onListening`) or execve resets
// them, so there is no moment without one.
import type { ResolvedCommand } from './command-lookup.js';
import type { ExecProcess } from './execve.js';
import { type FdSnapshot, snapshotFds } from './fds.js';
import type { SuperviseOptions, WorkloadExit } from './supervise.js';

/** `exec`: replace the process (fails without process.execve); `supervise`: a child; `auto`: exec if possible. */
export type HandOverMode = 'auto' | 'exec' | 'supervise';

/** Options of handOver(). */
export interface HandOverOptions extends SuperviseOptions {
  readonly mode?: HandOverMode | undefined;
  readonly proc?: ExecProcess | undefined;
}

/**
 * Start the workload. With exec this never returns (the process *is* the workload); in supervised mode it
 * resolves with how the child ended, for the caller to pass on (exit code, or reraiseSignal()).
 */
export async function handOver(
  command: ResolvedCommand,
  env: Readonly<Record<string, string>>,
  options: HandOverOptions = {},
): Promise<WorkloadExit> {
  const mode = options.mode ?? 'auto';
  const proc = options.proc ?? (process as ExecProcess);
  if (mode !== 'supervise') {
    const { canExecve, execWorkload } = await import('./execve.js');
    if (mode === 'exec' || canExecve(proc)) execWorkload(command, env, proc, options.fds);
  }
  const { superviseWorkload } = await import('./supervise.js');
  return superviseWorkload(command, env, options);
}

/** What prepareHandOver() did ahead of the release. */
export interface HandOverPreparation {
  readonly fds: FdSnapshot | undefined;
}

/**
 * Work of the hand-over that does not depend on the release, done while the agent waits: every pod of a Job
 * is released at the same moment, so each millisecond left for after the release is paid by all at once.
 * Loads the exec code (and worker_threads / child_process with it) and snapshots the descriptors.
 */
export function prepareHandOver(): HandOverPreparation {
  void import('./execve.js').catch(() => {});
  void import('./supervise.js').catch(() => {});
  return { fds: snapshotFds() };
}
