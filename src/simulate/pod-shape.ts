// What a simulated pod runs, by its shape: the agent (`run -- <command>`; `wait`, alone or as an init container
// before the command; or `sidecar`, with the main container started at its release), its environment as the Job
// controller and the kubelet set it, and the sidecar shape's main container. Pure: runSimulation spawns them.
import { join } from 'node:path';
import { shellQuote } from '../exec/shell-quote.js';
import type { SelfCommand } from '../self-command.js';

/** How the pods of a simulation are built (the SimulationOptions they come from). */
export interface PodShape {
  /** The workload; undefined or empty runs `wait` (and the pod ends when the mesh is released). */
  readonly command: readonly string[] | undefined;
  /** `wait` first (the pod is not Ready meanwhile), then the command without the agent. */
  readonly initContainer: boolean;
  /** `sidecar` runs all along; the command starts at its release with the env file sourced. */
  readonly sidecar?: boolean;
  /** Extra arguments for every agent (`--verify`, `--timeout`, `--port`, …). */
  readonly agentArgs: readonly string[];
  /** How to start this CLI again. */
  readonly self: SelfCommand;
}

/** Where one incarnation's agent tells its release: the --ready-file, and the sidecar's --export-dir beside it. */
export interface PodFiles {
  readonly readyFile: string;
  readonly exportDir: string;
}

/** The files of a pod incarnation under `dir` (its own directory). */
export function podFiles(dir: string): PodFiles {
  return { readyFile: join(dir, 'ready.json'), exportDir: join(dir, 'exports') };
}

/** The agent's argv: this CLI, the subcommand of the shape, the placement's flags, the agents' arguments. */
export function agentArgv(shape: PodShape, placementFlags: readonly string[], files: PodFiles): string[] {
  const sidecar = shape.sidecar === true;
  const command = shape.command ?? [];
  const runMode = command.length > 0 && !shape.initContainer && !sidecar;
  return [
    shape.self.file,
    ...shape.self.args,
    sidecar ? 'sidecar' : runMode ? 'run' : 'wait',
    ...placementFlags,
    ...shape.agentArgs,
    '--ready-file',
    files.readyFile,
    ...(sidecar ? ['--export-dir', files.exportDir, '--probe-port', '0'] : []),
    ...(runMode ? ['--', ...command] : []),
  ];
}

/** A pod's environment: what the pods inherit, and what the Job controller sets for pod `index` of `n`. */
export function podEnv(
  base: NodeJS.ProcessEnv,
  index: number,
  hostname: string,
  n: number,
): NodeJS.ProcessEnv {
  return {
    ...base,
    JOB_COMPLETION_INDEX: String(index),
    HOSTNAME: hostname,
    PEER_RENDEZVOUS_COMPLETIONS: String(n),
  };
}

/**
 * The sidecar shape's main container: it sources the env file the sidecar wrote and execs the command; as in
 * `manifest --sidecar`, it gets none of the agent's PEER_RENDEZVOUS_* settings.
 */
export function mainContainer(
  command: readonly string[],
  exportDir: string,
  env: NodeJS.ProcessEnv,
): { argv: string[]; env: NodeJS.ProcessEnv } {
  const script = `. ${shellQuote(join(exportDir, 'env'))} && exec "$@"`;
  return {
    argv: ['sh', '-c', script, 'sh', ...command],
    env: Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('PEER_RENDEZVOUS_'))),
  };
}
