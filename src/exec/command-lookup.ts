// Finding the workload on PATH the way execvp(3) does, and checking the kernel would run it, before
// anything irreversible: 127 when nothing is found, 126 when what is found cannot be executed.
import { join, resolve } from 'node:path';
import { CommandError, quote } from '../errors.js';
import { fileProblem, formatProblem } from './executable-format.js';

/** PATH when the environment has none: glibc execvp's default (`confstr(_CS_PATH)`). */
export const DEFAULT_PATH = '/bin:/usr/bin';

/** A command ready for execve: an absolute file, and the argv it gets (argv[0] as the user wrote it). */
export interface ResolvedCommand {
  /** Absolute path of the file to execute. */
  readonly file: string;
  /** The full argument vector, argv[0] included. */
  readonly argv: readonly string[];
  /** Every path looked at, in order. */
  readonly tried: readonly string[];
}

/** Where resolveCommand() looks. */
export interface LookupOptions {
  /** The environment the workload gets; its PATH is searched. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths are taken from (default: process.cwd()). */
  readonly cwd?: string | undefined;
}

/**
 * Resolve `command` like execvp: a name with a `/` is used as it is, otherwise each PATH entry is tried
 * in order (an empty entry means the current directory); a file that exists but cannot be executed is
 * skipped while a later entry may still match. Throws CommandError (127 not found, 126 not executable)
 * listing every path tried.
 */
export function resolveCommand(
  command: string,
  args: readonly string[],
  options: LookupOptions,
): ResolvedCommand {
  const cwd = options.cwd ?? process.cwd();
  if (command === '' || command.includes('\0')) {
    throw new CommandError('RDV_ERR_COMMAND_NOT_FOUND', `command ${quote(command)} is not a file name`, {
      command,
      tried: [],
    });
  }
  const candidates = command.includes('/')
    ? [command]
    : (options.env.PATH ?? DEFAULT_PATH).split(':').map((dir) => join(dir === '' ? '.' : dir, command));
  const tried: string[] = [];
  const refused: string[] = [];
  for (const candidate of candidates) {
    tried.push(candidate);
    const file = resolve(cwd, candidate);
    const problem = fileProblem(file);
    if (problem === 'does not exist') continue;
    if (problem === undefined) {
      const format = formatProblem(file, cwd);
      if (format === undefined) return { file, argv: [command, ...args], tried };
      refused.push(`${candidate}: ${format}`);
      continue;
    }
    refused.push(`${candidate} ${problem}`);
  }
  if (refused.length > 0) {
    throw new CommandError(
      'RDV_ERR_COMMAND_NOT_EXECUTABLE',
      `cannot execute ${quote(command)}: ${refused.join('; ')}`,
      { command, tried },
    );
  }
  const where = command.includes('/') ? `${tried[0]} does not exist` : `tried ${tried.join(', ')}`;
  throw new CommandError('RDV_ERR_COMMAND_NOT_FOUND', `command ${quote(command)} not found: ${where}`, {
    command,
    tried,
  });
}
