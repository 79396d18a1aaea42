// Signal dispositions around the hand-over: which signals a supervisor forwards, how ignored ones are made
// default again for exec, and how a child's death by signal is passed on.
import { constants } from 'node:os';

/**
 * Signals the supervisor forwards to the workload, each exactly once: everything a user, kubelet, tty or
 * init system sends asynchronously. Not forwarded: SIGKILL/SIGSTOP (cannot be caught), the synchronous
 * faults (SEGV, BUS, FPE, ILL, TRAP, ABRT, SYS), what the agent's own activity raises (PIPE, XFSZ, XCPU, PROF,
 * VTALRM, IO, CHLD), and TTIN/TTOU (job control of the agent's own tty access). SIGUSR1 is forwarded: Node
 * would start its inspector on it, and a listener replaces that, which is also what a production agent wants.
 */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = (
  [
    'SIGHUP',
    'SIGINT',
    'SIGQUIT',
    'SIGTERM',
    'SIGUSR1',
    'SIGUSR2',
    'SIGALRM',
    'SIGWINCH',
    'SIGCONT',
    'SIGTSTP',
    'SIGURG',
    'SIGPWR',
  ] as const
).filter((s) => constants.signals[s as keyof typeof constants.signals] !== undefined);

/** Node sets these to SIG_IGN at start-up, and execve keeps ignored signals ignored. */
export const NODE_IGNORED_SIGNALS: readonly NodeJS.Signals[] = ['SIGPIPE', 'SIGXFSZ'];

/** The process surface these helpers touch; tests and embedders may pass their own. */
export type SignalProcess = Pick<
  NodeJS.Process,
  'on' | 'off' | 'listenerCount' | 'removeAllListeners' | 'kill' | 'pid'
>;

function keepIgnoring(): void {
  // A caught signal that does nothing: the agent behaves as if it were still ignored.
}

/**
 * Make the signals Node ignores (PIPE, XFSZ) *caught* instead, so that execve resets them to SIG_DFL:
 * POSIX resets caught signals to the default action in the new image and keeps only ignored ones ignored.
 * Call right before execve; the no-op listeners stay if execve fails (the agent then behaves as before).
 */
export function catchIgnoredSignalsForExec(proc: SignalProcess = process): void {
  for (const signal of NODE_IGNORED_SIGNALS) proc.on(signal, keepIgnoring);
}

/**
 * End this process the way the workload ended: with the same signal. Every listener for it is removed
 * and its disposition set back to SIG_DFL first (adding and removing a listener does that in libuv).
 * Returns false when the kernel would drop the signal — the agent is PID 1 of its namespace, where
 * signals with the default action are not delivered from inside — and the caller must exit 128+n.
 */
export function reraiseSignal(signal: NodeJS.Signals, proc: SignalProcess = process): boolean {
  if (proc.pid === 1) return false;
  proc.removeAllListeners(signal);
  try {
    proc.on(signal, keepIgnoring);
    proc.off(signal, keepIgnoring);
  } catch {
    // SIGKILL/SIGSTOP cannot have listeners; their action is the default anyway.
  }
  try {
    proc.kill(proc.pid, signal);
  } catch {
    return false;
  }
  return true;
}
