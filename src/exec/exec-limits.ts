// Linux's limits on execve's arguments and environment, checked before the call: E2BIG would abort Node.
import { readFileSync } from 'node:fs';
import { CommandError } from '../errors.js';

/** MAX_ARG_STRLEN: one argument or `NAME=value` string, NUL included (32 pages). */
export const MAX_ARG_STRLEN = 32 * 4096;
const MIN_TOTAL = 32 * 4096;
const MAX_TOTAL = (3 * 8 * 1024 * 1024) / 4; // 3/4 of _STK_LIM

/** The kernel's cap on argv + envp: a quarter of the stack limit, between 128 KiB and 6 MiB. */
export function argEnvLimit(limitsFile = '/proc/self/limits'): number {
  let stack = 8 * 1024 * 1024;
  try {
    const m = /^Max stack size\s+(\S+)/m.exec(readFileSync(limitsFile, 'latin1'));
    if (m) stack = m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
  } catch {
    // Not Linux: assume the usual 8 MiB stack.
  }
  return Math.min(Math.max(stack / 4, MIN_TOTAL), MAX_TOTAL);
}

/** Throw CommandError (126) when execve would fail with E2BIG, naming the string or the total at fault. */
export function assertExecSize(
  command: string,
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  limit: number = argEnvLimit(),
): void {
  let total = 0;
  const check = (what: string, s: string): void => {
    const bytes = Buffer.byteLength(s) + 1;
    if (bytes > MAX_ARG_STRLEN) {
      throw new CommandError(
        'RDV_ERR_COMMAND_NOT_EXECUTABLE',
        `cannot execute ${JSON.stringify(command)}: ${what} is ${bytes} bytes, over Linux's ${MAX_ARG_STRLEN} per string (E2BIG); use PEER_ROSTER_FILE or a hostfile for large jobs`,
        { command, tried: [] },
      );
    }
    total += bytes + 8;
  };
  for (const [i, a] of argv.entries()) check(`argument ${i}`, a);
  for (const [name, value] of Object.entries(env)) check(`variable ${name}`, `${name}=${value}`);
  if (total > limit) {
    throw new CommandError(
      'RDV_ERR_COMMAND_NOT_EXECUTABLE',
      `cannot execute ${JSON.stringify(command)}: arguments and environment take ${total} bytes, over the ${limit} the kernel allows (E2BIG)`,
      { command, tried: [] },
    );
  }
}
