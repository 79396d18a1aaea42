// `install <dir>`: copy the running single executable into a directory (the init-container copy-in pattern).
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { CommandModule, Options } from 'yargs';
import { ConfigError, quote, UsageError } from '../../errors.js';
import { type SelfCommandSources, selfCommand } from '../../self-command.js';
import type { CliContext } from '../context.js';

/** Where `installExecutable` copies from and what it is called at the destination. */
export interface InstallOptions {
  /** Destination directory (created if missing), e.g. an emptyDir volume. */
  readonly dir: string;
  /** File name in `dir`. */
  readonly name?: string;
  /** What is running; defaults to this process (node:sea, process.execPath). */
  readonly self?: SelfCommandSources;
}

/** What was installed. */
export interface InstallResult {
  readonly path: string;
  readonly bytes: number;
}

/**
 * Copy the running single executable to `<dir>/<name>` with mode 0755, atomically (a temp file in the same
 * directory, flushed, then renamed), so a container never sees a half-written file. Refuses under Node:
 * then there is no single file to copy.
 */
export async function installExecutable(options: InstallOptions): Promise<InstallResult> {
  const name = options.name ?? 'peer-rendezvous';
  if (name === '' || name !== basename(name) || name === '.' || name === '..') {
    throw new UsageError(`--name ${quote(name)} is not a file name: expected a name without /`);
  }
  const self = options.self === undefined ? selfCommand() : selfCommand(options.self);
  if (self.args.length > 0) {
    throw new ConfigError(
      `install copies the single executable, but this peer-rendezvous runs as a Node script (${self.file} ` +
        `${self.args.join(' ')}), which needs Node and node_modules: run install from the container image or ` +
        'from dist/peer-rendezvous (npm run build:exe)',
      { value: self.file, source: 'process.execPath' },
    );
  }
  const dir = resolve(options.dir);
  const dest = join(dir, name);
  const tmp = join(dir, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    await copyFile(self.file, tmp);
    await chmod(tmp, 0o755);
    const handle = await open(tmp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, dest);
  } catch (cause) {
    // Best effort: the directory may be what failed (ENOTDIR, EACCES); the error below says so.
    await rm(tmp, { force: true }).catch(() => undefined);
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`cannot install ${self.file} into ${quote(dir)}: ${code}`, {
      value: dir,
      source: 'argument <dir>',
      cause,
    });
  }
  return { path: dest, bytes: (await stat(dest)).size };
}

interface InstallArgs {
  dir: string;
  name: string;
  quiet?: boolean;
}

/** Options of `install` (beside the global ones). */
export const installOptions = {
  name: { type: 'string', default: 'peer-rendezvous', describe: 'file name in <dir>' },
} satisfies Record<string, Options>;

/** The `install` command module. */
export function installCommand(ctx: CliContext): CommandModule<object, InstallArgs> {
  return {
    command: 'install <dir>',
    describe:
      'copy this single executable into <dir> (mode 0755, atomic): the init-container copy-in pattern',
    builder: (y) =>
      y
        .positional('dir', {
          type: 'string',
          describe: 'destination directory, e.g. a shared emptyDir volume',
        })
        .options(installOptions) as never,
    handler: async (args) => {
      const r = await installExecutable({ dir: args.dir, name: args.name });
      if (!args.quiet) ctx.io.stdout(`installed ${r.path} (${r.bytes} bytes, mode 0755)\n`);
    },
  };
}
