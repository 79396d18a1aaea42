// buildExports(): the released mesh in every requested framework's terms — variables and the files they name.
import { join } from 'node:path';
import type { Mesh } from '../rendezvous/types.js';
import type { ExportOptions } from './export-options.js';
import { exportedHost } from './host-names.js';
import { type ExportFile, PRESET_BUILDERS, type PresetInput } from './presets.js';
import { rosterJson } from './roster.js';

export type { ExportFile } from './presets.js';

/** What the workload gets. */
export interface Exports {
  /** Variables to add to the workload's environment, in a stable order (generic first, then presets). */
  readonly env: Readonly<Record<string, string>>;
  /** Files to write before the workload starts (the variables name them). */
  readonly files: readonly ExportFile[];
  /** Variables the environment already sets to another value: kept as they are, left out of `env`. */
  readonly overridden: readonly string[];
}

/** Where buildExports() reads the user's own environment and puts files that have no explicit path. */
export interface ExportContext {
  /** The environment the workload inherits; a variable set here (even to '') wins over an export. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory for the roster and hostfiles when --roster-file / --hostfile are not given. */
  readonly dir: string;
}

/**
 * Compute the exports for a released mesh. Pure: writes nothing (see writeExportFiles). The generic set
 * (PEER_INDEX, PEER_COUNT, PEER_HOSTS, PEER_COORDINATOR, PEER_ROSTER_FILE) is always there.
 */
export function buildExports(mesh: Mesh, context: ExportContext, options: ExportOptions): Exports {
  const hosts = mesh.peers.map((p) => exportedHost(mesh, p));
  const coordinator = exportedHost(mesh, mesh.coordinator);
  const rosterPath = options.rosterFile ?? join(context.dir, 'roster.json');
  const slotsPath = options.hostfile ?? join(context.dir, 'hostfile');
  const input: PresetInput = {
    index: mesh.self.index,
    count: mesh.peers.length,
    hosts,
    coordinator,
    generation: mesh.generation,
    options,
    hostfiles: {
      slots: slotsPath,
      mpich: `${slotsPath}.mpich`,
      intel: `${slotsPath}.intel`,
      hydraConfig: `${slotsPath}.hydra.conf`,
    },
  };

  const pairs: (readonly [string, string])[] = [
    ['PEER_INDEX', String(input.index)],
    ['PEER_COUNT', String(input.count)],
    ['PEER_HOSTS', hosts.join(',')],
    ['PEER_COORDINATOR', coordinator],
    ['PEER_ROSTER_FILE', rosterPath],
  ];
  const files = new Map<string, string>([[rosterPath, rosterJson(mesh)]]);
  for (const preset of options.presets) {
    const out = PRESET_BUILDERS[preset](input);
    pairs.push(...out.env);
    for (const f of out.files) files.set(f.path, f.content);
  }

  const env: Record<string, string> = {};
  const overridden: string[] = [];
  for (const [name, value] of pairs) {
    if (Object.hasOwn(env, name) || overridden.includes(name)) continue;
    const own = context.env[name];
    if (own === undefined) env[name] = value;
    else if (own !== value) overridden.push(name);
  }
  return { env, files: [...files].map(([path, content]) => ({ path, content })), overridden };
}
