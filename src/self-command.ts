// How to start this CLI again as a child process, from the single executable or from dist/.
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';

/** A program and the arguments that come before the CLI's own arguments. */
export interface SelfCommand {
  /** The file to spawn. */
  readonly file: string;
  /** Arguments to put before the CLI's own (the bin script when running under Node). */
  readonly args: readonly string[];
}

/** What selfCommand() looks at; tests pass their own. */
export interface SelfCommandSources {
  /** True inside the single executable (node:sea). */
  readonly isSea: () => boolean;
  /** The running executable: the single executable itself, or the node binary. */
  readonly execPath: string;
  /** The bin script that runs the CLI under Node. */
  readonly binScript: string;
}

/** bin/peer-rendezvous.js next to dist/ (or src/ under the tests). */
export const BIN_SCRIPT: string = fileURLToPath(new URL('../bin/peer-rendezvous.js', import.meta.url));

/**
 * The command that runs this CLI again: in the single executable the executable itself with no script,
 * otherwise this Node binary with bin/peer-rendezvous.js. Node flags of this process are not passed on.
 */
export function selfCommand(
  sources: SelfCommandSources = { isSea, execPath: process.execPath, binScript: BIN_SCRIPT },
): SelfCommand {
  if (sources.isSea()) return { file: sources.execPath, args: [] };
  return { file: sources.execPath, args: [sources.binScript] };
}
