// CLI entry: parses one invocation (the fast path for run/wait/env, else yargs) and maps every outcome to an
// exit code in one place.
import { quote, RendezvousError, UsageError } from '../errors.js';
import { exitCodeFor } from '../exit-codes.js';
import { VERSION } from '../version.js';
import { envCommand } from './commands/env.js';
import { runCommand } from './commands/run.js';
import { sidecarCommand } from './commands/sidecar.js';
import { waitCommand } from './commands/wait.js';
import { type CliContext, type CliIo, processIo } from './context.js';
import { type FastCommand, fastParse } from './fast-path.js';
import { envNameFor } from './options.js';
import { rendezvousOptions } from './rendezvous-options.js';
import { terminationLogged, writeTerminationLog } from './termination-log.js';

const FAST_COMMANDS: Record<FastCommand, (ctx: CliContext) => { handler: (args: never) => unknown }> = {
  run: runCommand,
  wait: waitCommand,
  env: envCommand,
  sidecar: sidecarCommand,
};

/** Run the CLI and return the exit code; never calls process.exit. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const ctx: CliContext = { io, argv, exitCode: 0 };
  // SIGUSR1 would open Node's inspector on 127.0.0.1:9229 (through which the token could be read): as soon
  // as the CLI runs, a listener takes that over. Waiting commands add their own (the progress line); a
  // supervisor forwards it; execve resets it for the workload. Only for the real process (tests inject io).
  if (io.env === process.env && process.listenerCount('SIGUSR1') === 0) process.on('SIGUSR1', noInspector);
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
    const { buildParser, lastNumberWins } = await import('./parser.js');
    const parser = buildParser(ctx);
    await parser.parseAsync(lastNumberWins(argv), {}, (_err, _argv, out) => {
      output = out;
    });
    if (output) io.stdout(output.endsWith('\n') ? output : `${output}\n`);
    return ctx.exitCode;
  } catch (error) {
    const code = exitCodeFor(error);
    io.stderr(`peer-rendezvous: ${describeError(error)}\n`);
    // A pod's agent that fails for any reason (a configuration error, 78, most of all) says so where
    // `kubectl describe pod` shows it; a timeout already wrote its table and hints there.
    if (
      waitsForPeers(argv) &&
      !(typeof error === 'object' && error !== null && terminationLogged.has(error))
    ) {
      writeTerminationLog(terminationLogPath(argv, io.env), `peer-rendezvous: ${describeError(error)}`);
    }
    if (error instanceof UsageError) io.stderr('Run peer-rendezvous --help for usage.\n');
    return code;
  }
}

function noInspector(): void {
  // SIGUSR1 does nothing here (Node's default would start the inspector).
}

/** run (also the default command), wait, env: the commands a pod's container runs. */
function waitsForPeers(argv: readonly string[]): boolean {
  const first = argv[0];
  return (
    first === undefined || first === 'run' || first === 'wait' || first === 'env' || first.startsWith('-')
  );
}

/** --termination-log (last one before `--`), else PEER_RENDEZVOUS_TERMINATION_LOG, else the default. */
function terminationLogPath(argv: readonly string[], env: CliIo['env']): string {
  let path: string | undefined;
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const a = argv[i]!;
    if (a === '--termination-log') path = argv[i + 1];
    else if (a.startsWith('--termination-log=')) path = a.slice('--termination-log='.length);
  }
  return path ?? env[envNameFor('termination-log')] ?? String(rendezvousOptions['termination-log'].default);
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
