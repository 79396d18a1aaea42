// Writing the export files atomically: a temporary file in the same directory, then rename over the target.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { randomBytes } from '../random.js';
import type { ExportFile } from './presets.js';

/** Write each file so that a reader sees the old content or the new one, never a part (parents created). */
export function writeExportFiles(files: readonly ExportFile[]): void {
  for (const file of files) {
    const dir = dirname(file.path);
    const temp = join(dir, `.${basename(file.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(temp, file.content, { mode: 0o644, flag: 'wx' });
      renameSync(temp, file.path);
    } catch (error) {
      try {
        rmSync(temp, { force: true });
      } catch {
        // The temporary file could not be made either; nothing to clean.
      }
      throw new ConfigError(`cannot write ${file.path}: ${(error as Error).message}`, {
        value: file.path,
        source: 'export file',
        cause: error,
      });
    }
  }
}

/** A new private directory (mode 0700) for export files that have no explicit path. */
export function makeExportDir(parent: string = tmpdir()): string {
  return mkdtempSync(join(parent, 'peer-rendezvous-'));
}
