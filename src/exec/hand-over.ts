// The hand-over after release: exec the workload where Node can, otherwise supervise it as a child.
import type { ResolvedCommand } from './command-lookup.js';
import { canExecve, type ExecProcess, execWorkload } from './execve.js';
import { type SuperviseOptions, superviseWorkload, type WorkloadExit } from './supervise.js';

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
  if (mode === 'exec' || (mode === 'auto' && canExecve(proc))) execWorkload(command, env, proc);
  return superviseWorkload(command, env, options);
}
