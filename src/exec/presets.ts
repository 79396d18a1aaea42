// What each --export preset sets: the variables (and files) each framework reads, in its own names.
import type { ExportOptions, Preset } from './export-options.js';
import { hostPort } from './host-names.js';
import { intelHostfile, mpichHostfile, slotsHostfile } from './hostfiles.js';

/** Everything a preset may use, already in framework terms (hosts without trailing dots). */
export interface PresetInput {
  readonly index: number;
  readonly count: number;
  /** Every pod's host in index order. */
  readonly hosts: readonly string[];
  /** `hosts[0]`. */
  readonly coordinator: string;
  readonly generation: string;
  readonly options: ExportOptions;
  /** Where the hostfiles go: `host slots=N`, MPICH `host:N`, Intel one per line; Hydra's option file. */
  readonly hostfiles: {
    readonly slots: string;
    readonly mpich: string;
    readonly intel: string;
    readonly hydraConfig: string;
  };
}

/** A file an export points at. */
export interface ExportFile {
  readonly path: string;
  readonly content: string;
}

/** What one preset contributes: variables in order, and files. */
export interface PresetOutput {
  readonly env: readonly (readonly [string, string])[];
  readonly files: readonly ExportFile[];
}

/** torch `env://` with one process per pod: it reads MASTER_*, RANK, WORLD_SIZE; LOCAL_* as torchrun sets them. */
function torch(p: PresetInput): PresetOutput {
  return {
    env: [
      ['MASTER_ADDR', p.coordinator],
      ['MASTER_PORT', String(p.options.masterPort)],
      ['RANK', String(p.index)],
      ['WORLD_SIZE', String(p.count)],
      ['LOCAL_RANK', '0'],
      ['LOCAL_WORLD_SIZE', '1'],
      ['GROUP_RANK', String(p.index)],
    ],
    files: [],
  };
}

/**
 * torchrun reads its flags from PET_<FLAG>. By default the world the barrier agreed on is handed over as a
 * **static** rendezvous (torchrun's own `static` backend: node rank, node count, a TCPStore on the
 * coordinator at the master port), so torchrun starts its workers without a second rendezvous round. With
 * `elastic` torchrun runs its c10d rendezvous instead (membership may change; restarts re-rendezvous);
 * c10d's `is_host` guess matches the endpoint against the machine's names, which holds for the full FQDN
 * but not for `<pod>.<svc>` or an IP from `--peers` on every setup, so it is set explicitly, true on pod 0.
 * RANK/WORLD_SIZE are not set: torchrun sets them per worker.
 * (torch/distributed/run.py: `get_rdzv_endpoint` uses master_addr:master_port for `static`, and
 * `config_from_args` passes `--node_rank` as the static rank; rendezvous/static_tcp_rendezvous.py.)
 */
function torchrun(p: PresetInput): PresetOutput {
  const common: [string, string][] = [
    ['PET_NNODES', String(p.count)],
    ['PET_NODE_RANK', String(p.index)],
    ['PET_MASTER_ADDR', p.coordinator],
    ['PET_MASTER_PORT', String(p.options.masterPort)],
  ];
  if (!p.options.elastic) {
    return {
      env: [...common, ['PET_RDZV_BACKEND', 'static'], ['PET_RDZV_ID', p.generation]],
      files: [],
    };
  }
  return {
    env: [
      ...common,
      ['PET_RDZV_BACKEND', 'c10d'],
      ['PET_RDZV_ENDPOINT', hostPort(p.coordinator, p.options.rdzvPort)],
      ['PET_RDZV_ID', p.generation],
      ['PET_RDZV_CONF', `is_host=${p.index === 0 ? 'true' : 'false'}`],
    ],
    files: [],
  };
}

/**
 * JAX reads JAX_COORDINATOR_ADDRESS itself; it has no variables for the process count and id, so
 * JAX_NUM_PROCESSES and JAX_PROCESS_ID are ours, for the user to pass to jax.distributed.initialize().
 */
function jax(p: PresetInput): PresetOutput {
  return {
    env: [
      ['JAX_COORDINATOR_ADDRESS', hostPort(p.coordinator, p.options.jaxPort)],
      ['JAX_COORDINATOR_PORT', String(p.options.jaxPort)],
      ['JAX_NUM_PROCESSES', String(p.count)],
      ['JAX_PROCESS_ID', String(p.index)],
    ],
    files: [],
  };
}

/** TensorFlow's TF_CONFIG: every pod a worker at tfPort, this pod's task index. */
function tf(p: PresetInput): PresetOutput {
  const config = {
    cluster: { worker: p.hosts.map((h) => hostPort(h, p.options.tfPort)) },
    task: { type: 'worker', index: p.index },
  };
  return { env: [['TF_CONFIG', JSON.stringify(config)]], files: [] };
}

/**
 * Hostfiles for Open MPI (ORTE and PRRTE), MPICH Hydra and Intel MPI, and the variables that point at them.
 * MPICH Hydra tells its proxies to call back `--control-port <gethostname()>:<port>`, the launching pod's
 * short name, which no other pod resolves; Hydra has no variable for the name, but reads its options from
 * the file `HYDRA_CONFIG_FILE` names (mpiexec/get_parameters.c; command-line options win), so that file
 * carries `-localhost <this pod's host>`. `PEER_HYDRA_ARGS` is the same for a command line (Intel MPI, or
 * when the environment already sets HYDRA_CONFIG_FILE).
 */
function mpi(p: PresetInput): PresetOutput {
  const { slots, mpich, intel, hydraConfig } = p.hostfiles;
  const self = p.hosts[p.index]!;
  return {
    env: [
      ['PEER_HOSTFILE', slots],
      ['PEER_HOSTFILE_MPICH', mpich],
      ['PEER_HOSTFILE_INTEL', intel],
      ['OMPI_MCA_orte_default_hostfile', slots],
      ['OMPI_MCA_orte_keep_fqdn_hostnames', 'true'],
      ['PRTE_MCA_prte_default_hostfile', slots],
      ['PRTE_MCA_prte_keep_fqdn_hostnames', '1'],
      ['HYDRA_HOST_FILE', mpich],
      ['HYDRA_CONFIG_FILE', hydraConfig],
      ['PEER_HYDRA_ARGS', `-localhost ${self}`],
      ['I_MPI_HYDRA_HOST_FILE', intel],
    ],
    files: [
      { path: slots, content: slotsHostfile(p.hosts, p.options.slots) },
      { path: mpich, content: mpichHostfile(p.hosts, p.options.slots) },
      { path: intel, content: intelHostfile(p.hosts) },
      { path: hydraConfig, content: `-localhost ${self}\n` },
    ],
  };
}

/** DeepSpeed's launcher reads `host slots=N` from `--hostfile` (default /job/hostfile); no variable names it. */
function deepspeed(p: PresetInput): PresetOutput {
  return {
    env: [['PEER_HOSTFILE', p.hostfiles.slots]],
    files: [{ path: p.hostfiles.slots, content: slotsHostfile(p.hosts, p.options.slots) }],
  };
}

/** Each preset's builder. */
export const PRESET_BUILDERS: Readonly<Record<Preset, (p: PresetInput) => PresetOutput>> = {
  torch,
  torchrun,
  jax,
  tf,
  mpi,
  deepspeed,
};
