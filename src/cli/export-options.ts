// Options of the commands that hand the mesh over (run, env): --export, ports, slots, file paths; and the
// step they share after release: build the exports, write their files, warn about what the env overrides.
import type { Options } from 'yargs';
import { type ExportOptions, normalizeExportOptions, PRESETS } from '../exec/export-options.js';
import { buildExports, type Exports } from '../exec/exports.js';
import { makeExportDir, writeExportFiles } from '../exec/write-files.js';
import type { Mesh } from '../rendezvous/types.js';
import type { CliContext } from './context.js';
import { originOf } from './options.js';
import { logger } from './rendezvous-options.js';

const GROUP = 'Exports (PEER_INDEX, PEER_COUNT, PEER_HOSTS, PEER_COORDINATOR, PEER_ROSTER_FILE always):';

/** The export options as yargs declares them; ports and slots are strings so messages can name the value. */
export const exportOptions = {
  export: {
    type: 'string',
    group: GROUP,
    describe: `frameworks to set variables and files for, comma list: ${PRESETS.join(', ')}`,
  },
  hostfile: {
    type: 'string',
    group: GROUP,
    describe:
      'where the `host slots=N` hostfile goes (mpi, deepspeed); .mpich and .intel next to it [default: a private temp dir]',
  },
  'roster-file': {
    type: 'string',
    group: GROUP,
    describe: 'where the JSON roster goes (PEER_ROSTER_FILE) [default: a private temp dir]',
  },
  slots: { type: 'string', group: GROUP, describe: 'slots per host in the hostfiles [default: 1]' },
  'master-port': {
    type: 'string',
    group: GROUP,
    describe: 'torch MASTER_PORT, torchrun PET_MASTER_PORT [default: 29500]',
  },
  'rdzv-port': {
    type: 'string',
    group: GROUP,
    describe: 'torchrun c10d port in PET_RDZV_ENDPOINT, with --elastic [default: 29400]',
  },
  elastic: {
    type: 'boolean',
    default: false,
    group: GROUP,
    describe:
      'torchrun: let torchrun run its own elastic c10d rendezvous instead of the static world peer-rendezvous agreed on',
  },
  'jax-port': { type: 'string', group: GROUP, describe: 'JAX coordinator port [default: 55527]' },
  'tf-port': { type: 'string', group: GROUP, describe: 'worker port in TF_CONFIG [default: 2222]' },
} satisfies Record<string, Options>;

/** Parsed export options. */
export interface ExportArgs {
  export?: string | undefined;
  hostfile?: string | undefined;
  rosterFile?: string | undefined;
  slots?: string | undefined;
  masterPort?: string | undefined;
  rdzvPort?: string | undefined;
  jaxPort?: string | undefined;
  tfPort?: string | undefined;
  elastic?: boolean | undefined;
}

/** Validate the export options, each message naming where the value came from (flag or env var). */
export function exportOptionsFromArgs(ctx: CliContext, args: ExportArgs): ExportOptions {
  return normalizeExportOptions({
    export: args.export,
    hostfile: args.hostfile,
    rosterFile: args.rosterFile,
    slots: args.slots,
    masterPort: args.masterPort,
    rdzvPort: args.rdzvPort,
    jaxPort: args.jaxPort,
    tfPort: args.tfPort,
    elastic: args.elastic,
    origins: {
      export: originOf(ctx, 'export'),
      hostfile: originOf(ctx, 'hostfile'),
      rosterFile: originOf(ctx, 'roster-file'),
      slots: originOf(ctx, 'slots'),
      masterPort: originOf(ctx, 'master-port'),
      rdzvPort: originOf(ctx, 'rdzv-port'),
      jaxPort: originOf(ctx, 'jax-port'),
      tfPort: originOf(ctx, 'tf-port'),
    },
  });
}

/**
 * After release: compute the exports against the invocation's env, write their files (a private temp dir
 * for those without a path), and warn once about variables the environment already sets.
 */
export function handOverExports(
  ctx: CliContext,
  args: { quiet: boolean; logFormat: 'text' | 'json' },
  mesh: Mesh,
  options: ExportOptions,
): Exports {
  const needsDir =
    options.rosterFile === undefined ||
    (options.hostfile === undefined && options.presets.some((p) => p === 'mpi' || p === 'deepspeed'));
  const exports = buildExports(mesh, { env: ctx.io.env, dir: needsDir ? makeExportDir() : '/' }, options);
  writeExportFiles(exports.files);
  if (exports.overridden.length > 0) {
    logger(ctx, args).warn(
      `the environment already sets ${exports.overridden.join(', ')}; keeping its values instead of the exported ones`,
    );
  }
  return exports;
}
