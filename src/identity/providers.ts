// Identity providers: how each controller names its pods and tells a pod its place (FIELD.md §1-5), turned
// into one peer list in the ecosystem's global rank order. Detection reads only what the kubelet and the
// controller put in the pod: env, hostname, the hosts file, a downward-API volume, mounted files. This file is
// the registry (names, result shape, detection, conflicts); each controller lives in providers/<name>.ts.
import { envOf, type PodView, podMeta, type Sourced } from './pod-view.js';
import { jobsetProvider } from './providers/jobset.js';
import { lwsProvider } from './providers/lws.js';
import { mpiProvider } from './providers/mpi-operator.js';
import { JS, nonEmpty } from './providers/shared.js';
import { statefulsetProvider } from './providers/statefulset.js';
import { trainerProvider } from './providers/trainer.js';
import { volcanoProvider } from './providers/volcano.js';

/** Every provider `--provider` accepts besides `auto`. */
export const PROVIDERS = [
  'job',
  'jobset',
  'lws',
  'statefulset',
  'trainer',
  'volcano',
  'mpi-operator',
  'peers',
] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export const PROVIDER_CHOICES = ['auto', ...PROVIDERS] as const;

/** Provider-specific options (flags the pod cannot infer). */
export interface ProviderOptions {
  /** `rjob=<replicas>x<pods>,…` in the JobSet's replicatedJobs order. */
  jobsetTopology?: string | undefined;
  /** StatefulSet `.spec.replicas`, or MPIJob Worker replicas. */
  replicas?: number | string | undefined;
  /** StatefulSet `.spec.ordinals.start` (default 0). */
  ordinalsStart?: number | string | undefined;
  /** Volcano task names in rank order (default: alphabetical). */
  volcanoTasks?: string | undefined;
  /** Total world size when the pod cannot count it (JobSet with one replicated job). */
  completions?: number | string | undefined;
}

/** One value of a provider's identity and where it came from (an `explain` row). */
export interface Detail {
  readonly label: string;
  readonly value: string;
  readonly source: string;
}

/** A provider's answer. */
export interface ProviderResult {
  readonly peers: string[];
  readonly index: Sourced<number>;
  readonly completions: Sourced<number>;
  /** The group the peers make (JobSet, LWS group, StatefulSet, TrainJob, vcjob, MPIJob name). */
  readonly jobName: Sourced<string> | undefined;
  readonly subdomain: Sourced<string> | undefined;
  readonly details: Detail[];
  readonly jobKey: string;
  readonly warnings: string[];
}

/** Why a provider matched in auto mode. */
export interface Detection {
  readonly provider: ProviderName;
  readonly reason: string;
}

/** Providers that run on top of others: when the upper one matches, the lower ones are not a conflict. */
const BUILT_ON: Partial<Record<ProviderName, readonly ProviderName[]>> = {
  trainer: ['jobset', 'job', 'mpi-operator'],
  'mpi-operator': ['jobset', 'job'],
  jobset: ['job'],
  lws: ['statefulset'],
};

/** Every provider whose marks the pod carries, the most specific first; `built-on` ones removed. */
export function detectProviders(view: PodView, o: ProviderOptions, mpiHostfile: string): Detection[] {
  const found: Detection[] = [];
  const env = (n: string) => envOf(view, n);
  const pet = env('PET_NNODES') && env('PET_MASTER_ADDR');
  const jax = env('JAX_NUM_PROCESSES') && env('JAX_COORDINATOR_ADDRESS');
  if (pet)
    found.push({
      provider: 'trainer',
      reason: 'env PET_NNODES and PET_MASTER_ADDR (Kubeflow Trainer torch)',
    });
  else if (jax)
    found.push({
      provider: 'trainer',
      reason: 'env JAX_NUM_PROCESSES and JAX_COORDINATOR_ADDRESS (Kubeflow Trainer jax)',
    });
  if (env('LWS_LEADER_ADDRESS') && env('LWS_GROUP_SIZE'))
    found.push({ provider: 'lws', reason: 'env LWS_LEADER_ADDRESS and LWS_GROUP_SIZE (LeaderWorkerSet)' });
  const vc = env('VC_TASK_INDEX') ?? env('VK_TASK_INDEX');
  if (vc) found.push({ provider: 'volcano', reason: `${vc.source} (Volcano env plugin)` });
  const role = env('K_MPI_JOB_ROLE');
  const hostfileText = view.sources.readFile(mpiHostfile);
  if (role)
    found.push({ provider: 'mpi-operator', reason: `env K_MPI_JOB_ROLE=${role.value} (mpi-operator v2)` });
  else if (hostfileText !== undefined)
    found.push({ provider: 'mpi-operator', reason: `MPI hostfile ${mpiHostfile}` });
  const jsName = podMeta(view, `${JS}jobset-name`);
  if (jsName) found.push({ provider: 'jobset', reason: jsName.source });
  else if (nonEmpty(o.jobsetTopology)) found.push({ provider: 'jobset', reason: 'option jobset-topology' });
  const stsIndex =
    podMeta(view, 'apps.kubernetes.io/pod-index') ?? podMeta(view, 'statefulset.kubernetes.io/pod-name');
  const jci = env('JOB_COMPLETION_INDEX') ?? podMeta(view, 'batch.kubernetes.io/job-completion-index');
  if (stsIndex) found.push({ provider: 'statefulset', reason: stsIndex.source });
  else if (nonEmpty(o.replicas) && jci === undefined && !role && hostfileText === undefined)
    found.push({ provider: 'statefulset', reason: 'option replicas and no JOB_COMPLETION_INDEX' });
  if (jci) found.push({ provider: 'job', reason: `${jci.source} (Indexed Job)` });
  // A hostfile alone (no K_MPI_JOB_ROLE, no JobSet annotations) in an Indexed Job pod is the user's own file,
  // not mpi-operator's: both then match and the user says which.
  const hostfileOnly = !role && jsName === undefined;
  const hidden = new Set(
    found.flatMap((d) => (d.provider === 'mpi-operator' && hostfileOnly ? [] : (BUILT_ON[d.provider] ?? []))),
  );
  return found.filter((d) => !hidden.has(d.provider));
}

/** Where a provider option came from, for messages. */
export type Origin = (
  name: 'jobsetTopology' | 'replicas' | 'ordinalsStart' | 'volcanoTasks' | 'completions',
) => string;

/** Run one of the controller providers (not `job` or `peers`, which identity.ts builds). */
export function runProvider(
  provider: Exclude<ProviderName, 'job' | 'peers'>,
  view: PodView,
  o: ProviderOptions,
  origin: Origin,
  mpiHostfile: Sourced<string>,
): ProviderResult {
  switch (provider) {
    case 'jobset':
      return jobsetProvider(view, o, origin);
    case 'lws':
      return lwsProvider(view);
    case 'statefulset':
      return statefulsetProvider(view, o, origin);
    case 'trainer':
      return trainerProvider(view);
    case 'volcano':
      return volcanoProvider(view, o, origin);
    case 'mpi-operator':
      return mpiProvider(view, o, origin, mpiHostfile);
  }
}
