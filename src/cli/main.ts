// CLI entry: parses one invocation (the fast path for run/wait/env, else yargs) and maps every outcome to an
// exit code in one place.
import { quote, RendezvousError, UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import { envCommand } from './commands/env.js';
import { runCommand } from './commands/run.js';
import { sidecarCommand } from './commands/sidecar.js';
import { waitCommand } from './commands/wait.js';
import { type CliContext, type CliIo, processIo } from './context.js';
import { exitCodeFor } from './exit-codes.js';
import { type FastCommand, fastParse } from './fast-path.js';

const FAST_COMMANDS: Record<FastCommand, (ctx: CliContext) => { handler: (args: never) => unknown }> = {
  run: runCommand,
  wait: waitCommand,
  env: envCommand,
  sidecar: sidecarCommand,
};

/** Run the CLI and return the exit code; never calls process.exit. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const ctx: CliContext = { io, argv, exitCode: 0 };
  let output = '';
  try {
    // `--version` alone is a health check in images and scripts: answered without loading yargs.
    if (argv.length === 1 && argv[0] === '--version') {
      io.stdout(`${VERSION}\n`);
      return 0;
    }
    const fast = fastParse(argv, io.env);
    if (fast) {
      await FAST_COMMANDS[fast.command](ctx).handler(fast.args as never);
      return ctx.exitCode;
    }
    const { buildParser } = await import('./parser.js');
    const parser = buildParser(ctx);
    await parser.parseAsync([...argv], {}, (_err, _argv, out) => {
      output = out;
    });
    if (output) io.stdout(output.endsWith('\n') ? output : `${output}\n`);
    return ctx.exitCode;
  } catch (error) {
    const code = exitCodeFor(error);
    io.stderr(`peer-rendezvous: ${describeError(error)}\n`);
    if (error instanceof UsageError) io.stderr('Run peer-rendezvous --help for usage.\n');
    return code;
  }
}

/** One line: the error code and message (and the cause's message, which must not be lost). */
export function describeError(error: unknown): string {
  if (error instanceof RendezvousError) {
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
    return `${error.message} [${error.code}]${cause}`;
  }
  if (error instanceof Error) return `internal error: ${error.stack ?? error.message}`;
  return `internal error: ${quote(error)}`;
}
