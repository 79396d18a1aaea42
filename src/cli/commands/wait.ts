// `wait`: wait for the mesh, exit 0 when released (init containers, shell scripts).
import type { CommandModule } from 'yargs';
import type { CliContext } from '../context.js';
import { type RendezvousArgs, rendezvousOptions, waitFromArgs } from '../rendezvous-options.js';

/** The `wait` command module. */
export function waitCommand(ctx: CliContext): CommandModule<object, RendezvousArgs> {
  return {
    command: 'wait',
    describe: 'wait until every pod is resolvable and reachable, then exit 0 (124 on timeout)',
    builder: (y) => y.options(rendezvousOptions) as never,
    handler: async (args) => {
      await waitFromArgs(ctx, args);
    },
  };
}
