// `env`: wait for the mesh, then print the exports for a shell (`eval "$(peer-rendezvous env)"`) or as JSON.
import type { CommandModule, Options } from 'yargs';
import { jsonExports, shellExports } from '../../exec/shell-quote.js';
import type { CliContext } from '../context.js';
import { type ExportArgs, exportOptions, exportOptionsFromArgs, handOverExports } from '../export-options.js';
import { outputOptions } from '../options.js';
import {
  agentEnvNames,
  keepAgentEnvOption,
  type RendezvousArgs,
  rendezvousOptions,
  waitFromArgs,
} from '../rendezvous-options.js';

interface EnvArgs extends RendezvousArgs, ExportArgs {
  format: 'shell' | 'json';
  keepAgentEnv: boolean;
}

/** Every option of `env` (the fast parser in fast-path.ts reads the same table). */
export const envOptions = {
  ...rendezvousOptions,
  ...exportOptions,
  ...keepAgentEnvOption,
  format: {
    choices: ['shell', 'json'] as const,
    default: 'shell' as const,
    group: 'Output:',
    describe: 'shell: eval-safe export lines; json: one object',
  },
} satisfies Record<string, Options>;

/** The `env` command module. */
export function envCommand(ctx: CliContext): CommandModule<object, EnvArgs> {
  return {
    command: 'env',
    describe: "wait for the mesh, then print the exports: `export NAME='value'` lines or one JSON object",
    builder: (y) => y.options(envOptions) as never,
    handler: async (args) => {
      const options = exportOptionsFromArgs(ctx, args);
      const { mesh } = await waitFromArgs(ctx, args);
      const exports = handOverExports(ctx, args, mesh, options);
      if (args.format === 'json') {
        ctx.io.stdout(jsonExports(exports.env));
        return;
      }
      // The shell that evals this keeps the agent's variables (its token): unset them there too.
      const consumed = args.keepAgentEnv
        ? []
        : [...agentEnvNames(ctx.io.env, { ...outputOptions, ...envOptions })];
      ctx.io.stdout(
        shellExports(exports.env) + (consumed.length > 0 ? `unset ${consumed.sort().join(' ')}\n` : ''),
      );
    },
  };
}
