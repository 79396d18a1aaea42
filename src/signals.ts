// Signals as exit codes, and the signals that stop a wait: one table for the CLI, exec and simulate.
import { constants } from 'node:os';

/** What ends a wait (or a simulation) early: the kubelet's TERM, Ctrl-C, a hang-up, QUIT. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'];

/** The signal's number (SIGTERM → 15), or undefined when this platform has no such signal. */
export function signalNumber(signal: NodeJS.Signals): number | undefined {
  return constants.signals[signal as keyof typeof constants.signals];
}

/** The exit code a shell reports for a process ended by `signal`: 128 + its number. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (signalNumber(signal) ?? 0);
}
