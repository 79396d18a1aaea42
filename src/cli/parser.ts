// The full yargs parser: every command, help, --version, strict validation. Loaded only when the fast path
// (fast-path.ts) does not take an invocation: yargs costs more start-up time than all the rest of the agent.
import yargs from 'yargs';
import { UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import { envCommand } from './commands/env.js';
import { explainCommand } from './commands/explain.js';
import { installCommand } from './commands/install.js';
import { manifestCommand } from './commands/manifest.js';
import { resolveCommand } from './commands/resolve.js';
import { runCommand } from './commands/run.js';
import { sidecarCommand } from './commands/sidecar.js';
import { simulateCommand } from './commands/simulate.js';
import { waitCommand } from './commands/wait.js';
import type { CliContext } from './context.js';
import { envMiddleware, outputOptions } from './options.js';

/** What a command's handler received; tests capture it instead of running the command. */
export type ParsedHandler = (command: string, args: Record<string, unknown>) => void;

/** A command module whose handler only reports what it was given (to compare parsers in tests). */
function capturing<T extends { command?: string | readonly string[]; handler: unknown }>(
  module: T,
  capture: ParsedHandler | undefined,
): T {
  if (capture === undefined) return module;
  const name = [module.command ?? ''].flat()[0]!.split(' ')[0]!;
  return { ...module, handler: (args: Record<string, unknown>) => capture(name, args) };
}

/**
 * Build the parser for one invocation. With `capture`, commands report their parsed arguments instead of
 * running (test/cli/fast-path.test.ts compares them with the fast path's).
 */
export function buildParser(ctx: CliContext, capture?: ParsedHandler) {
  return yargs([...ctx.argv])
    .scriptName('peer-rendezvous')
    .usage(
      '$0 <command> [options]\n\nWait until every pod of a Kubernetes Indexed Job is resolvable and reachable.',
    )
    .options(outputOptions)
    .middleware(envMiddleware(ctx) as never, true)
    .command(capturing(envCommand(ctx), capture) as never)
    .command(capturing(explainCommand(ctx), capture) as never)
    .command(capturing(installCommand(ctx), capture) as never)
    .command(capturing(manifestCommand(ctx), capture) as never)
    .command(capturing(resolveCommand(ctx), capture) as never)
    .command(capturing(runCommand(ctx), capture) as never)
    .command(capturing(sidecarCommand(ctx), capture) as never)
    .command(capturing(simulateCommand(ctx), capture) as never)
    .command(capturing(waitCommand(ctx), capture) as never)
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
