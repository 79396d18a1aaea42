// CLI entry: builds the yargs parser for one invocation and maps every outcome to an exit code.
import yargs from 'yargs';
import { quote, RendezvousError, UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import { envCommand } from './commands/env.js';
import { explainCommand } from './commands/explain.js';
import { installCommand } from './commands/install.js';
import { manifestCommand } from './commands/manifest.js';
import { resolveCommand } from './commands/resolve.js';
import { runCommand } from './commands/run.js';
import { simulateCommand } from './commands/simulate.js';
import { waitCommand } from './commands/wait.js';
import { type CliContext, type CliIo, processIo } from './context.js';
import { exitCodeFor } from './exit-codes.js';
import { envMiddleware, outputOptions } from './options.js';

/** Build the parser for one invocation. Tests call this with an argv array. */
export function buildParser(ctx: CliContext) {
  return yargs([...ctx.argv])
    .scriptName('peer-rendezvous')
    .usage(
      '$0 <command> [options]\n\nWait until every pod of a Kubernetes Indexed Job is resolvable and reachable.',
    )
    .options(outputOptions)
    .middleware(envMiddleware(ctx) as never, true)
    .command(envCommand(ctx) as never)
    .command(explainCommand(ctx) as never)
    .command(installCommand(ctx) as never)
    .command(manifestCommand(ctx) as never)
    .command(resolveCommand(ctx) as never)
    .command(runCommand(ctx) as never)
    .command(simulateCommand(ctx) as never)
    .command(waitCommand(ctx) as never)
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      throw new UsageError(message);
    });
}

/** Run the CLI and return the exit code; never calls process.exit. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const ctx: CliContext = { io, argv, exitCode: 0 };
  let output = '';
  try {
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
