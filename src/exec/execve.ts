// Becoming the workload: process.execve, after everything that would make it fail or leak is dealt with.
import { isMainThread } from 'node:worker_threads';
import type { ResolvedCommand } from './command-lookup.js';
import { assertExecSize } from './exec-limits.js';
import { closeInheritedFds, type FdSnapshot } from './fds.js';
import { catchIgnoredSignalsForExec, type SignalProcess } from './signals.js';

type Execve = (file: string, args: string[], env: Record<string, string>) => never;

/** The process surface execWorkload() uses. */
export type ExecProcess = SignalProcess &
  Pick<NodeJS.Process, 'emitWarning' | 'platform'> & { execve?: Execve | undefined };

/** True when this process can replace itself: Node ≥ 22.15 / 23.11, POSIX, main thread. */
export function canExecve(proc: ExecProcess = process as ExecProcess): boolean {
  return typeof proc.execve === 'function' && proc.platform !== 'win32' && isMainThread;
}

/**
 * Replace this process with the workload: same PID, the agent's memory gone. Before the call: the size
 * limits are checked (E2BIG would abort Node), inherited descriptors without close-on-exec are closed
 * (only 0–2 reach the workload), SIGPIPE/SIGXFSZ are made caught so exec resets them to default, and the
 * ExperimentalWarning of exactly this call is dropped. `fds`: a snapshot taken while waiting (fds.ts), so
 * that only descriptors opened since are read. Returns only by throwing.
 */
export function execWorkload(
  command: ResolvedCommand,
  env: Readonly<Record<string, string>>,
  proc: ExecProcess = process as ExecProcess,
  fds?: FdSnapshot,
): never {
  const execve = proc.execve;
  if (!canExecve(proc) || execve === undefined) {
    throw new TypeError('Expected a main-thread POSIX Node with process.execve (22.15 or later)');
  }
  assertExecSize(command.argv[0] ?? command.file, command.argv, env);
  closeInheritedFds('/proc/self', fds);
  catchIgnoredSignalsForExec(proc);
  const emitWarning = proc.emitWarning;
  proc.emitWarning = function filtered(this: unknown, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning.message;
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'ExperimentalWarning' && text.startsWith('process.execve')) return;
    return (emitWarning as (...a: unknown[]) => void).call(this, warning, ...rest);
  } as NodeJS.Process['emitWarning'];
  try {
    return execve.call(proc, command.file, [...command.argv], { ...env });
  } finally {
    proc.emitWarning = emitWarning;
  }
}
