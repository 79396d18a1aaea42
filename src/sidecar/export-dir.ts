// The sidecar's exports in a directory shared with the main containers (an emptyDir): `env` (shell
// `export` lines), `env.json`, `roster.json` and the hostfiles, each written atomically (temp + rename), the
// `env` file last so that a reader who finds it finds the others too.
import { join } from 'node:path';
import type { ExportOptions } from '../exec/export-options.js';
import { buildExports, type Exports } from '../exec/exports.js';
import { jsonExports, shellExports } from '../exec/shell-quote.js';
import { writeExportFiles } from '../exec/write-files.js';
import type { Mesh } from '../rendezvous/types.js';

/** Default of `--export-dir`. */
export const DEFAULT_EXPORT_DIR = '/run/peer-rendezvous';

/**
 * Build and write the exports for `mesh` into `dir`. The sidecar's own environment is not the workload's,
 * so nothing is left out as "already set": the workload's `. env` decides.
 */
export function writeExportDir(dir: string, mesh: Mesh, options: ExportOptions): Exports {
  const exports = buildExports(mesh, { env: {}, dir }, options);
  writeExportFiles([
    ...exports.files,
    { path: join(dir, 'env.json'), content: jsonExports(exports.env) },
    { path: join(dir, 'env'), content: shellExports(exports.env) },
  ]);
  return exports;
}
