// Options of the framework exports (--export, ports, slots, file paths): defaults and validation.
import { quote, UsageError } from '../errors.js';

/** The frameworks `--export` knows, in the order their variables are written. */
export const PRESETS = ['torch', 'torchrun', 'jax', 'tf', 'mpi', 'deepspeed'] as const;
export type Preset = (typeof PRESETS)[number];

/** Default ports: torch env:// 29500, torchrun c10d 29400, JAX 55527 (its own K8s default), TF 2222. */
export const DEFAULT_PORTS = { masterPort: 29500, rdzvPort: 29400, jaxPort: 55527, tfPort: 2222 } as const;

/** Normalised export options: what `buildExports()` needs besides the mesh. */
export interface ExportOptions {
  /** Presets in the order given, without duplicates. The generic PEER_* set is always on. */
  readonly presets: readonly Preset[];
  /** torch `MASTER_PORT` / torchrun `PET_MASTER_PORT`. */
  readonly masterPort: number;
  /** torchrun c10d rendezvous port (`PET_RDZV_ENDPOINT`). */
  readonly rdzvPort: number;
  /** `JAX_COORDINATOR_ADDRESS` port. */
  readonly jaxPort: number;
  /** Port of every worker in `TF_CONFIG`. */
  readonly tfPort: number;
  /** Slots (processes) per host in the MPI and DeepSpeed hostfiles. */
  readonly slots: number;
  /** Path of the `host slots=N` hostfile (MPICH and Intel formats go next to it); default `<dir>/hostfile`. */
  readonly hostfile: string | undefined;
  /** Path of the JSON roster; default `<dir>/roster.json`. */
  readonly rosterFile: string | undefined;
  /**
   * torchrun: hand over the agreed world as a static rendezvous (false, the default) or let torchrun run its
   * own elastic c10d round at `rdzvPort` (true: membership may change, restarts re-rendezvous).
   */
  readonly elastic: boolean;
}

/** Raw option values as a parser or a caller gives them, each with where it came from for messages. */
export interface RawExportOptions {
  export?: string | readonly string[] | undefined;
  masterPort?: unknown;
  rdzvPort?: unknown;
  jaxPort?: unknown;
  tfPort?: unknown;
  slots?: unknown;
  hostfile?: string | undefined;
  rosterFile?: string | undefined;
  elastic?: boolean | undefined;
  /** Option name → where its value came from, e.g. `flag --slots` (default `option <name>`). */
  origins?: Partial<Record<keyof Omit<RawExportOptions, 'origins'>, string>> | undefined;
}

const MAX_SLOTS = 1_000_000;

/** Validate and copy raw export options; throws UsageError naming the value, its source and what was expected. */
export function normalizeExportOptions(raw: RawExportOptions = {}): ExportOptions {
  const origin = (key: keyof Omit<RawExportOptions, 'origins'>, flag: string): string =>
    raw.origins?.[key] ?? `option ${flag}`;
  return {
    presets: parsePresets(raw.export, origin('export', '--export')),
    masterPort: parseInteger(
      raw.masterPort,
      DEFAULT_PORTS.masterPort,
      1,
      65535,
      origin('masterPort', '--master-port'),
      'a port',
    ),
    rdzvPort: parseInteger(
      raw.rdzvPort,
      DEFAULT_PORTS.rdzvPort,
      1,
      65535,
      origin('rdzvPort', '--rdzv-port'),
      'a port',
    ),
    jaxPort: parseInteger(
      raw.jaxPort,
      DEFAULT_PORTS.jaxPort,
      1,
      65535,
      origin('jaxPort', '--jax-port'),
      'a port',
    ),
    tfPort: parseInteger(raw.tfPort, DEFAULT_PORTS.tfPort, 1, 65535, origin('tfPort', '--tf-port'), 'a port'),
    slots: parseInteger(raw.slots, 1, 1, MAX_SLOTS, origin('slots', '--slots'), 'a slot count'),
    hostfile: parsePath(raw.hostfile, origin('hostfile', '--hostfile')),
    rosterFile: parsePath(raw.rosterFile, origin('rosterFile', '--roster-file')),
    elastic: raw.elastic ?? false,
  };
}

/** `torch,mpi` (or an array of such lists) → presets in order, duplicates dropped; `''`/`none` → none. */
export function parsePresets(value: string | readonly string[] | undefined, source: string): Preset[] {
  if (value === undefined) return [];
  const items = (typeof value === 'string' ? [value] : value).flatMap((v) => String(v).split(','));
  const out: Preset[] = [];
  for (const item of items.map((i) => i.trim().toLowerCase())) {
    if (item === '' || item === 'none') continue;
    if (!(PRESETS as readonly string[]).includes(item)) {
      throw new UsageError(
        `${source} names ${quote(item)}, which is not a preset: expected a comma list of ${PRESETS.join(', ')}`,
      );
    }
    if (!out.includes(item as Preset)) out.push(item as Preset);
  }
  return out;
}

function parseInteger(
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  source: string,
  what: string,
): number {
  if (value === undefined) return fallback;
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${source}=${quote(value)} is not ${what}: expected an integer from ${min} to ${max}`,
    );
  }
  return n;
}

function parsePath(value: string | undefined, source: string): string | undefined {
  if (value === undefined) return undefined;
  if (value === '' || value.includes('\0')) {
    throw new UsageError(`${source}=${quote(value)} is not a file path`);
  }
  return value;
}
