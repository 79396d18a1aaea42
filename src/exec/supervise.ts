// The fallback hand-over: the workload as a child, every forwardable signal passed on exactly once, and its
// end (exit code or signal) reported to the caller.
import type { ChildProcess } from 'node:child_process';
import { CommandError } from '../errors.js';
import type { ResolvedCommand } from './command-lookup.js';
import { assertExecSize } from './exec-limits.js';
import { closeInheritedFds, type FdSnapshot } from './fds.js';
import { FORWARDED_SIGNALS, type SignalProcess } from './signals.js';

/** How the supervised workload ended. */
export interface WorkloadExit {
  readonly pid: number;
  /** Its exit status, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
}

/** Options of superviseWorkload(). */
export interface SuperviseOptions {
  /** Signals to forward (default FORWARDED_SIGNALS). */
  readonly forward?: readonly NodeJS.Signals[] | undefined;
  /** Close inherited non-close-on-exec descriptors first so only 0–2 reach the child (default true). */
  readonly closeInheritedFds?: boolean | undefined;
  /** A descriptor snapshot taken while waiting (fds.ts). */
  readonly fds?: FdSnapshot | undefined;
  /** Called once the child runs. */
  readonly onStart?: ((pid: number) => void) | undefined;
  /** Called once the forwarding listeners are installed, before the spawn: a caller's own handlers can go. */
  readonly onListening?: (() => void) | undefined;
  readonly proc?: SignalProcess | undefined;
}

/**
 * Run the workload as a child and resolve when it ends. The child gets stdio 0–2, default signal
 * dispositions (libuv resets them in the child) and its own session, so that signals aimed at the agent's
 * process group (a tty's Ctrl-C, `timeout`, `kill -- -pgid`) reach it once, through the agent, and not
 * twice. SIGTSTP is passed on and then stops the agent too (unless PID 1), so a shell's job control works;
 * the shell's SIGCONT is passed on in turn. Listeners are removed when the child ends.
 */
export function superviseWorkload(
  command: ResolvedCommand,
  env: Readonly<Record<string, string>>,
  options: SuperviseOptions = {},
): Promise<WorkloadExit> {
  const proc = options.proc ?? process;
  const forward = options.forward ?? FORWARDED_SIGNALS;
  assertExecSize(command.argv[0] ?? command.file, command.argv, env);
  if (options.closeInheritedFds ?? true) closeInheritedFds('/proc/self', options.fds);
  return new Promise((resolve, reject) => {
    // Listen BEFORE spawning: the workload may start and be signalled (it printed "ready", a kubelet sends
    // TERM) before the line after spawn() runs, and a signal with no listener would end the agent with Node's
    // default action and orphan the workload. Signals that arrive before the child exists are delivered to it
    // as soon as it does.
    let pid: number | undefined;
    const early: NodeJS.Signals[] = [];
    const deliver = (signal: NodeJS.Signals): void => {
      try {
        proc.kill(pid!, signal);
      } catch {
        // Already gone: its exit is on its way.
      }
      if (signal === 'SIGTSTP' && proc.pid !== 1) proc.kill(proc.pid, 'SIGSTOP');
    };
    const listeners = new Map<NodeJS.Signals, () => void>();
    const cleanup = (): void => {
      for (const [signal, listener] of listeners) proc.off(signal, listener);
      listeners.clear();
    };
    for (const signal of forward) {
      const listener = (): void => {
        if (pid === undefined) early.push(signal);
        else deliver(signal);
      };
      listeners.set(signal, listener);
      proc.on(signal, listener);
    }
    options.onListening?.();
    let child: ChildProcess;
    try {
      // Loaded here, not at start-up: only supervision spawns (a listening agent gets the module anyway, through
      // node:net's cluster support, but `env`, one-sided runs and the sidecar's exports do not).
      const { spawn } = process.getBuiltinModule('node:child_process');
      child = spawn(command.file, command.argv.slice(1), {
        argv0: command.argv[0],
        env: { ...env },
        stdio: 'inherit',
        detached: true,
      });
    } catch (error) {
      cleanup();
      reject(spawnError(command, error));
      return;
    }
    child.once('error', (error) => {
      cleanup();
      reject(spawnError(command, error));
    });
    pid = child.pid;
    if (pid !== undefined) for (const signal of early.splice(0)) deliver(signal);
    child.once('spawn', () => options.onStart?.(child.pid!));
    child.once('exit', (code, signal) => {
      cleanup();
      resolve({ pid: child.pid ?? -1, code, signal });
    });
  });
}

function spawnError(command: ResolvedCommand, error: unknown): CommandError {
  const code = (error as NodeJS.ErrnoException).code;
  return new CommandError(
    code === 'ENOENT' ? 'RDV_ERR_COMMAND_NOT_FOUND' : 'RDV_ERR_COMMAND_NOT_EXECUTABLE',
    `cannot start ${JSON.stringify(command.argv[0] ?? command.file)} (${command.file}): ${(error as Error).message}`,
    { command: command.argv[0] ?? command.file, tried: [command.file], cause: error },
  );
}
