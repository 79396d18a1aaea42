// What a CLI invocation runs against: output streams, env, and the pod's files. Tests pass their own.
import type { IdentitySources } from '../identity/sources.js';

/** The outside world of one CLI invocation. */
export interface CliIo {
  /** Write to standard output (no newline added). */
  readonly stdout: (text: string) => void;
  /** Write to standard error (no newline added). */
  readonly stderr: (text: string) => void;
  /** Environment the options and identity are read from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal (colour, live status lines). */
  readonly isTTY: boolean;
  /** Overrides for identity discovery (hostname, file reader); paths come from flags. */
  readonly sources?: Partial<Omit<IdentitySources, 'env' | 'paths'>>;
}

/** One invocation: its io, and the exit code a handler chose when it did not throw. */
export interface CliContext {
  readonly io: CliIo;
  /** The raw arguments, to tell flags from env vars in messages. */
  readonly argv: readonly string[];
  exitCode: number;
}

/** The process's own io. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    isTTY: Boolean(process.stderr.isTTY),
  };
}
