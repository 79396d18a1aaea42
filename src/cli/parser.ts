// The full yargs parser: every command, help, --version, strict validation. Loaded only when the fast path
// (fast-path.ts) does not take an invocation: yargs costs more start-up time than all the rest of the agent.

import type { Argv, Options } from 'yargs';
import yargs from 'yargs';
import { UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import { envCommand, envOptions } from './commands/env.js';
import { explainCommand } from './commands/explain.js';
import { installCommand, installOptions } from './commands/install.js';
import { manifestCommand, manifestOptions } from './commands/manifest.js';
import { resolveCommand, resolveOptions } from './commands/resolve.js';
import { runCommand, runOptions } from './commands/run.js';
import { sidecarCommand, sidecarOptions } from './commands/sidecar.js';
import { simulateCommand, simulateOptions } from './commands/simulate.js';
import { waitCommand } from './commands/wait.js';
import type { CliContext } from './context.js';
import { didYouMean, unknownEnvError, unknownEnvNames } from './did-you-mean.js';
import { envMiddleware, envNameFor, identityOptions, outputOptions } from './options.js';
import { rendezvousOptions } from './rendezvous-options.js';

/** Every option of every command (explain's are the identity options). */
const ALL_OPTIONS: readonly Record<string, Options>[] = [
  outputOptions,
  identityOptions,
  rendezvousOptions,
  runOptions,
  envOptions,
  manifestOptions,
  simulateOptions,
  sidecarOptions,
  resolveOptions,
  installOptions,
];

/** Every `PEER_RENDEZVOUS_<NAME>` some command reads. */
export const KNOWN_ENV_NAMES: ReadonlySet<string> = new Set(
  ALL_OPTIONS.flatMap((table) => Object.keys(table).map(envNameFor)),
);

/** Unknown PEER_RENDEZVOUS_* names are a configuration error (did-you-mean.ts says why). */
function checkEnvNames(env: CliContext['io']['env']): void {
  const unknown = unknownEnvNames(env, KNOWN_ENV_NAMES);
  if (unknown.length > 0) throw unknownEnvError(unknown, KNOWN_ENV_NAMES);
}

/**
 * yargs' "Unknown argument(s): a, b" with the closest option of the command for each flag given
 * (`Unknown argument: --tmeout (did you mean --timeout?)`).
 */
function withSuggestions(message: string, argv: readonly string[], y: Argv | undefined): string {
  const m = /^Unknown arguments?: (.+)$/.exec(message);
  if (!m || y === undefined) return message;
  const table = (y as unknown as { getOptions(): { key?: Record<string, unknown> } }).getOptions().key ?? {};
  const options = Object.keys(table).filter((k) => /^[a-z][a-z0-9-]*$/.test(k));
  const head = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  const flags = new Set(
    head.filter((a) => a.startsWith('-')).map((a) => a.replace(/^--?(no-)?/, '').split('=')[0]),
  );
  const named = m[1]!
    .split(', ')
    .map((name) => (flags.has(name) ? `--${name}${didYouMean(name, options, '--')}` : name));
  return `${message.slice(0, message.indexOf(':'))}: ${named.join(', ')}`;
}

/** Each spelling (`--port`, `-n`, `--pods`) of every number option, to the option's name. */
const NUMBER_FLAGS: ReadonlyMap<string, string> = new Map(
  ALL_OPTIONS.flatMap((table) =>
    Object.entries(table)
      .filter(([, o]) => o.type === 'number')
      .flatMap(([name, o]) =>
        [name, ...[o.alias ?? []].flat()].map((n) => [n.length === 1 ? `-${n}` : `--${n}`, name] as const),
      ),
  ),
);

/**
 * `argv` with only the last occurrence of each number option given twice or more (before `--`). yargs-parser
 * adds a repeated number option whose later value is 1 to the earlier one, as it counts a `count` flag
 * (`--port 3 --port 1` gave 4, `--port 1 --port 1` 2: setKey's `value === increment()`); the last one wins
 * instead, as with every other option and in the fast path. Only well-formed earlier occurrences are dropped
 * (`--port=3`, or `--port 3` with a value that is no flag): anything else is left for yargs to judge.
 */
export function lastNumberWins(argv: readonly string[]): string[] {
  const spans = new Map<string, [number, number][]>();
  const dashes = argv.indexOf('--');
  const end = dashes === -1 ? argv.length : dashes;
  for (let i = 0; i < end; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = NUMBER_FLAGS.get(eq === -1 ? arg : arg.slice(0, eq));
    if (name === undefined) continue;
    const next = argv[i + 1];
    const width = eq !== -1 ? 1 : i + 1 < end && next !== undefined && !next.startsWith('-') ? 2 : 0;
    if (width === 0) return [...argv];
    spans.set(name, [...(spans.get(name) ?? []), [i, width]]);
    i += width - 1;
  }
  const drop = new Set<number>();
  for (const list of spans.values())
    for (const [at, width] of list.slice(0, -1)) for (let k = 0; k < width; k++) drop.add(at + k);
  return drop.size === 0 ? [...argv] : argv.filter((_, i) => !drop.has(i));
}

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
  const parser = yargs([...ctx.argv]);
  return parser
    .scriptName('peer-rendezvous')
    .usage(
      '$0 <command> [options]\n\nWait until every pod of a Kubernetes Indexed Job is resolvable and reachable.',
    )
    .options(outputOptions)
    .middleware(envMiddleware(ctx, checkEnvNames) as never, true)
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
      // `parser` holds the options of the command being parsed by the time validation fails.
      throw new UsageError(withSuggestions(message, ctx.argv, parser as unknown as Argv));
    });
}
