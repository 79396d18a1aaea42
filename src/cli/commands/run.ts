// `run` (also the default command): wait for the mesh, then become the workload with the exports in its env.
import type { CommandModule, Options } from 'yargs';
import { UsageError } from '../../errors.js';
import { resolveCommand } from '../../exec/command-lookup.js';
import { type HandOverPreparation, handOver, prepareHandOver } from '../../exec/hand-over.js';
import { reraiseSignal } from '../../exec/signals.js';
import { exitCodeForSignal } from '../../signals.js';
import type { CliContext } from '../context.js';
import { type ExportArgs, exportOptions, exportOptionsFromArgs, handOverExports } from '../export-options.js';
import { originOf, outputOptions } from '../options.js';
import {
  keepAgentEnvOption,
  logger,
  type RendezvousArgs,
  rendezvousOptions,
  waitFromArgs,
  workloadEnv,
} from '../rendezvous-options.js';

interface RunArgs extends RendezvousArgs, ExportArgs {
  /** true: exec even as PID 1; false: supervise; undefined (default): exec, but supervise as PID 1. */
  exec?: boolean | undefined;
  keepAgentEnv: boolean;
}

/** When the hand-over is prepared while waiting: after the agent's start-up, before most releases. */
const PREPARE_AFTER_MS = 50;

/** Every option of `run` (the fast parser in fast-path.ts reads the same table). */
export const runOptions = {
  ...rendezvousOptions,
  ...exportOptions,
  ...keepAgentEnvOption,
  exec: {
    type: 'boolean',
    group: 'Hand-over:',
    describe:
      '--exec: replace this process with the command (process.execve), even as PID 1; --no-exec: keep a supervising parent that forwards signals [default: exec, but supervise when PID 1]',
  },
} satisfies Record<string, Options>;

/**
 * How `run` hands over. The default execs, except as PID 1 of a PID namespace (the container's command):
 * the kernel gives PID 1 only the signals it has a handler for, and most workloads (`sleep`, `python3`)
 * install none for SIGTERM, so an exec'd workload would sit out the pod's grace period until SIGKILL. A
 * supervising agent handles every signal and forwards it. `--exec` forces exec anyway, `--no-exec` always
 * supervises; an in-process invocation (tests, embedding) always supervises.
 */
export function handOverMode(exec: boolean | undefined, own: boolean, pid: number): 'auto' | 'supervise' {
  if (!own || exec === false) return 'supervise';
  if (exec === true) return 'auto';
  return pid === 1 ? 'supervise' : 'auto';
}

/** The workload: everything after the first `--` of the invocation. */
export function commandAfterDashes(argv: readonly string[]): string[] {
  const at = argv.indexOf('--');
  return at < 0 ? [] : argv.slice(at + 1);
}

/** The `run` command module; `peer-rendezvous -- <command>` runs it too. */
export function runCommand(ctx: CliContext): CommandModule<object, RunArgs> {
  return {
    command: ['run', '$0'],
    describe: 'wait for the mesh, then exec the command after -- with the peers in its environment',
    builder: (y) => y.options(runOptions) as never,
    handler: async (args) => {
      const [file, ...rest] = commandAfterDashes(ctx.argv);
      if (file === undefined) {
        throw new UsageError(
          'name the command to run after --: peer-rendezvous [run] [options] -- <command> [args...]',
        );
      }
      const options = exportOptionsFromArgs(ctx, args);
      // Before anything irreversible: 127/126 now, not after every pod has waited for this one.
      const command = resolveCommand(file, rest, { env: ctx.io.env });
      // The hand-over's own preparation runs while we wait, after the start-up work (the first DNS query).
      let prepared: HandOverPreparation | undefined;
      const prepare = setTimeout(() => {
        prepared = prepareHandOver();
      }, PREPARE_AFTER_MS);
      prepare.unref();
      // Only the real process may be replaced: an in-process invocation (tests, embedding) supervises.
      const own = ctx.io.env === process.env;
      const tokenOrigin = args.token === undefined ? undefined : originOf(ctx, 'token');
      if (own && tokenOrigin && handOverMode(args.exec, own, process.pid) === 'supervise') {
        // Supervising, the agent stays the workload's parent with its own environment and argv.
        const where = tokenOrigin.startsWith('flag') ? 'cmdline' : 'environ';
        logger(ctx, args).warn(
          `the token from ${tokenOrigin} stays readable by the workload in /proc/$PPID/${where}: this agent supervises it (${args.exec === false ? '--no-exec' : 'PID 1'}) and keeps its own ${where === 'cmdline' ? 'argv' : 'environment'}; use --token-file (a mounted Secret) instead`,
        );
      }
      let waited: Awaited<ReturnType<typeof waitFromArgs>>;
      try {
        // The real process keeps its signal handlers until the workload takes over (see waitFromArgs).
        waited = await waitFromArgs(ctx, args, { holdSignals: own });
      } finally {
        clearTimeout(prepare);
      }
      const { mesh, releaseSignals } = waited;
      let result: Awaited<ReturnType<typeof handOver>>;
      try {
        const exports = handOverExports(ctx, args, mesh, options);
        // The agent's own PEER_RENDEZVOUS_* variables (its token) stop here, on both hand-over paths.
        const env = workloadEnv(ctx.io.env, { ...outputOptions, ...runOptions }, args.keepAgentEnv);
        Object.assign(env, exports.env);
        const mode = handOverMode(args.exec, own, process.pid);
        if (args.verbose)
          logger(ctx, args).info(
            `starting ${command.file} (${mode === 'auto' ? 'exec' : args.exec === undefined && own ? 'supervised: PID 1' : 'supervised'})`,
          );
        // With exec the handlers stay to the end (execve resets caught signals to their default); a
        // supervisor drops them once its own forwarding listeners are in place, before it spawns.
        result = await handOver(command, env, {
          mode,
          fds: prepared?.fds,
          onListening: releaseSignals,
        });
      } finally {
        releaseSignals();
      }
      if (result.signal !== null) {
        ctx.exitCode = exitCodeForSignal(result.signal);
        if (own) reraiseSignal(result.signal);
      } else {
        ctx.exitCode = result.code ?? 70;
      }
    },
  };
}
