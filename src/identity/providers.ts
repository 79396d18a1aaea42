// Identity providers: how each controller names its pods and tells a pod its place (FIELD.md §1-5), turned
// into one peer list in the ecosystem's global rank order. Detection reads only what the kubelet and the
// controller put in the pod: env, hostname, the hosts file, a downward-API volume, mounted files.
import { ConfigError, quote } from '../errors.js';
import { completeName, envOf, type PodView, podMeta, type Sourced, trimDot } from './pod-view.js';
import { parseMpiHostfile } from './podinfo.js';
import { assertLabel, parseDecimal } from './validate.js';

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

const JS = 'jobset.sigs.k8s.io/';

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

function nonEmpty(v: unknown): boolean {
  return v !== undefined && String(v) !== '';
}

// ---------------------------------------------------------------------------------------------- helpers

function int(s: Sourced<string>, what: string, min: number): number {
  const n = parseDecimal(s.value.trim());
  if (n === undefined || n < min) {
    throw new ConfigError(
      `${what} ${quote(s.value)} from ${s.source} is not valid: expected an integer ≥ ${min}`,
      { value: s.value, source: s.source },
    );
  }
  return n;
}

function optionValue(v: number | string | undefined, source: string): Sourced<string> | undefined {
  return v === undefined || String(v) === '' ? undefined : { value: String(v), source };
}

function need<T>(value: T | undefined, message: string, source: string): T {
  if (value === undefined) throw new ConfigError(message, { source });
  return value;
}

function namespaceOf(view: PodView, provider: string): Sourced<string> {
  return need(
    view.namespace,
    `no namespace for the ${provider} peer names: neither ${view.sources.paths.hosts} nor ${view.sources.paths.namespace} gives one; pass --namespace or set PEER_RENDEZVOUS_NAMESPACE`,
    view.sources.paths.namespace,
  );
}

function fqdn(view: PodView, ns: Sourced<string>, host: string, subdomain: string): string {
  return `${host}.${subdomain}.${ns.value}.svc.${view.clusterDomain.value}.`;
}

/** Warn when this pod's own name is not where the provider put it. */
function selfCheck(view: PodView, peers: readonly string[], index: number, warnings: string[]): void {
  const own = peers[index]?.split('.')[0];
  if (own !== undefined && own !== view.hostname.value) {
    warnings.push(
      `hostname ${quote(view.hostname.value)} is not ${quote(own)}, the name at index ${index}: is the pod's identity from another workload?`,
    );
  }
}

function detail(label: string, s: Sourced<unknown>): Detail {
  return { label, value: String(s.value), source: s.source };
}

// ----------------------------------------------------------------------------------------------- JobSet

/** One replicated job of `--jobset-topology`. */
export interface ReplicatedJob {
  readonly name: string;
  readonly replicas: number;
  readonly pods: number;
}

/** Parse `driver=1x1,workers=2x4`: replicated jobs in spec order, replicas × pods per Job. */
export function parseJobsetTopology(value: string, source: string): ReplicatedJob[] {
  const out: ReplicatedJob[] = [];
  for (const part of value.split(',')) {
    const m = /^\s*([a-z0-9]([-a-z0-9]*[a-z0-9])?)=([0-9]+)x([0-9]+)\s*$/.exec(part);
    const replicas = m ? parseDecimal(m[3]!) : undefined;
    const pods = m ? parseDecimal(m[4]!) : undefined;
    if (!m || !replicas || !pods) {
      throw new ConfigError(
        `jobset topology ${quote(value)} from ${source} is not valid at ${quote(part)}: expected <replicatedJob>=<replicas>x<pods per Job>[,…] in the JobSet's order, e.g. driver=1x1,workers=2x4`,
        { value, source },
      );
    }
    if (out.some((r) => r.name === m[1]))
      throw new ConfigError(`jobset topology ${quote(value)} from ${source} names ${quote(m[1])} twice`, {
        value,
        source,
      });
    out.push({ name: m[1]!, replicas, pods });
  }
  return out;
}

function jobsetProvider(view: PodView, o: ProviderOptions, origin: Origin): ProviderResult {
  const warnings: string[] = [];
  const meta = (k: string) => podMeta(view, `${JS}${k}`);
  const topology = nonEmpty(o.jobsetTopology)
    ? parseJobsetTopology(String(o.jobsetTopology), origin('jobsetTopology'))
    : undefined;
  let js = meta('jobset-name');
  let rjob = meta('replicatedjob-name');
  let jobIndex = meta('job-index');
  let podIndex: Sourced<string> | undefined =
    envOf(view, 'JOB_COMPLETION_INDEX') ?? podMeta(view, 'batch.kubernetes.io/job-completion-index');
  const host = view.hostname.value;
  if ((js === undefined || rjob === undefined || jobIndex === undefined) && topology !== undefined) {
    // No annotations: the hostname <js>-<rjob>-<jobIdx>-<podIdx> with the topology's rjob names.
    for (const r of [...topology].sort((a, b) => b.name.length - a.name.length)) {
      const m = new RegExp(`^(.+)-${r.name}-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$`).exec(host);
      if (!m) continue;
      const src = `${view.hostname.source} ${quote(host)} as <jobset>-<rjob>-<job>-<pod>`;
      js ??= { value: m[1]!, source: src };
      rjob ??= { value: r.name, source: src };
      jobIndex ??= { value: m[2]!, source: src };
      podIndex ??= { value: m[3]!, source: src };
      break;
    }
  }
  const how = `mount the pod's annotations with the downward API at --podinfo-dir (default /etc/podinfo), or pass --jobset-topology so the hostname <jobset>-<rjob>-<job>-<pod> can be read`;
  js = need(js, `no JobSet name: no ${JS}jobset-name annotation or label; ${how}`, view.annotationsPath);
  rjob = need(
    rjob,
    `no replicated job name: no ${JS}replicatedjob-name annotation; ${how}`,
    view.annotationsPath,
  );
  jobIndex = need(jobIndex, `no job index: no ${JS}job-index annotation; ${how}`, view.annotationsPath);
  if (podIndex === undefined) {
    const m = /-(0|[1-9][0-9]*)$/.exec(host);
    if (m) podIndex = { value: m[1]!, source: `${view.hostname.source} suffix` };
  }
  podIndex = need(
    podIndex,
    'no pod index in the Job: JOB_COMPLETION_INDEX is not set',
    'env JOB_COMPLETION_INDEX',
  );
  assertLabel('JobSet name', js.value, js.source);
  const jobIdx = int(jobIndex, 'job index', 0);
  const podIdx = int(podIndex, 'pod index', 0);

  let rjobs: ReplicatedJob[];
  let topologySource: string;
  if (topology !== undefined) {
    rjobs = topology;
    topologySource = origin('jobsetTopology');
  } else {
    // Without the flag only a JobSet of one replicated job can be sized, from --completions (all pods).
    const rr = meta('replicatedjob-replicas');
    const gr = meta('global-replicas');
    const total = optionValue(o.completions, origin('completions'));
    const single = rr !== undefined && gr !== undefined && rr.value === gr.value;
    if (!single || total === undefined) {
      throw new ConfigError(
        `no JobSet topology: the pod sees its own replicated job ${quote(rjob.value)} but not ${single ? 'how many pods each Job has' : 'the other replicated jobs'}; pass --jobset-topology <rjob>=<replicas>x<pods>,… in the JobSet's replicatedJobs order (e.g. driver=1x1,workers=2x4)${single ? ' or --completions <all pods>' : ''}`,
        { source: 'option jobset-topology' },
      );
    }
    const replicas = int(rr, 'replicated job replicas', 1);
    const n = int(total, 'completions', 1);
    if (n % replicas !== 0) {
      throw new ConfigError(
        `completions ${n} from ${total.source} is not a multiple of the ${replicas} Jobs of ${quote(rjob.value)} (${rr.source})`,
        { value: String(n), source: total.source },
      );
    }
    rjobs = [{ name: rjob.value, replicas, pods: n / replicas }];
    topologySource = `${rr.source} × (${total.source} / replicas)`;
  }
  const at = rjobs.findIndex((r) => r.name === rjob.value);
  if (at < 0) {
    throw new ConfigError(
      `replicated job ${quote(rjob.value)} from ${rjob.source} is not in the topology ${quote(formatTopology(rjobs))} from ${topologySource}`,
      { value: rjob.value, source: topologySource },
    );
  }
  const mine = rjobs[at]!;
  const checks: [string, number, string][] = [
    ['replicatedjob-replicas', mine.replicas, `${mine.name} has ${mine.replicas} Jobs`],
    [
      'global-replicas',
      rjobs.reduce((s, r) => s + r.replicas, 0),
      'the Jobs of all replicated jobs add up to',
    ],
    [
      'job-global-index',
      rjobs.slice(0, at).reduce((s, r) => s + r.replicas, 0) + jobIdx,
      'the order gives this Job global index',
    ],
  ];
  for (const [key, expected, says] of checks) {
    const m = meta(key);
    if (m !== undefined && int(m, key, 0) !== expected) {
      throw new ConfigError(
        `${JS}${key} ${m.value} from ${m.source} conflicts with the topology ${quote(formatTopology(rjobs))} from ${topologySource}, where ${says} ${expected}: list every replicated job in the JobSet's order with its replicas`,
        { value: m.value, source: m.source },
      );
    }
  }
  if (jobIdx >= mine.replicas || podIdx >= mine.pods) {
    throw new ConfigError(
      `job ${jobIdx} pod ${podIdx} (${jobIndex.source}, ${podIndex.source}) is outside ${mine.name}=${mine.replicas}x${mine.pods} from ${topologySource}`,
      { value: `${jobIdx}-${podIdx}`, source: topologySource },
    );
  }
  const ns = namespaceOf(view, 'JobSet');
  const subdomain: Sourced<string> = view.subdomain ?? {
    value: js.value,
    source: 'default: the JobSet name (spec.network.subdomain unset)',
  };
  const peers: string[] = [];
  let index = -1;
  for (const r of rjobs) {
    for (let j = 0; j < r.replicas; j++) {
      for (let p = 0; p < r.pods; p++) {
        if (r === mine && j === jobIdx && p === podIdx) index = peers.length;
        peers.push(fqdn(view, ns, `${js.value}-${r.name}-${j}-${p}`, subdomain.value));
      }
    }
  }
  // spec.coordinator names a pod for the workload; the barrier's coordinator is global rank 0 regardless.
  const coordinator = meta('coordinator');
  if (coordinator !== undefined && coordinator.value.split('.')[0] !== peers[0]!.split('.')[0]) {
    warnings.push(
      `the JobSet's coordinator ${quote(coordinator.value)} (${coordinator.source}) is not global rank 0 ${quote(trimDot(peers[0]!))}: the barrier is coordinated by rank 0; the workload's coordinator is unchanged`,
    );
  }
  const expectHost = `${js.value}-${rjob.value}-${jobIdx}-${podIdx}`;
  if (host !== expectHost)
    warnings.push(
      `hostname ${quote(host)} is not ${quote(expectHost)}: is spec.network.enableDNSHostnames false?`,
    );
  const topo = formatTopology(rjobs);
  return {
    peers,
    index: {
      value: index,
      source: `global rank: pods of the replicated jobs before ${mine.name}, + job ${jobIdx} × ${mine.pods} + pod ${podIdx}`,
    },
    completions: { value: peers.length, source: `sum of replicas × pods of ${topo}` },
    jobName: js,
    subdomain,
    details: [
      detail('replicated job', rjob),
      detail('job index', jobIndex),
      detail('pod index', podIndex),
      { label: 'topology', value: topo, source: topologySource },
    ],
    jobKey: `jobset/${ns.value}/${js.value}/${topo}`,
    warnings,
  };
}

function formatTopology(rjobs: readonly ReplicatedJob[]): string {
  return rjobs.map((r) => `${r.name}=${r.replicas}x${r.pods}`).join(',');
}

// ---------------------------------------------------------------------------------------- LeaderWorkerSet

function lwsProvider(view: PodView): ProviderResult {
  const warnings: string[] = [];
  const address = need(
    envOf(view, 'LWS_LEADER_ADDRESS'),
    'no LWS_LEADER_ADDRESS: is this a LeaderWorkerSet pod?',
    'env LWS_LEADER_ADDRESS',
  );
  const size = need(
    envOf(view, 'LWS_GROUP_SIZE'),
    'no LWS_GROUP_SIZE: is this a LeaderWorkerSet pod?',
    'env LWS_GROUP_SIZE',
  );
  const worker = need(
    envOf(view, 'LWS_WORKER_INDEX') ?? podMeta(view, 'leaderworkerset.sigs.k8s.io/worker-index'),
    'no LWS_WORKER_INDEX: is this a LeaderWorkerSet pod?',
    'env LWS_WORKER_INDEX',
  );
  const n = int(size, 'group size', 1);
  const index = int(worker, 'worker index', 0);
  if (index >= n)
    throw new ConfigError(
      `worker index ${index} from ${worker.source} is not below the group size ${n} from ${size.source}`,
      {
        value: String(index),
        source: worker.source,
      },
    );
  // `<lws>-<g>.<subdomain>.<ns>`: no .svc.<zone> (FIELD.md §2); both subdomain policies give it.
  const labels = trimDot(address.value.toLowerCase()).split('.');
  if (labels.length < 2)
    throw new ConfigError(
      `LWS_LEADER_ADDRESS ${quote(address.value)} is not <leader>.<subdomain>[.<namespace>]`,
      {
        value: address.value,
        source: address.source,
      },
    );
  const leader = labels[0]!;
  const zone = view.clusterDomain.value;
  let ns: Sourced<string>;
  let leaderName: string;
  if (labels.length === 3) {
    ns = { value: labels[2]!, source: `${address.source} third label` };
    leaderName = `${labels.join('.')}.svc.${zone}.`;
    warnings.push(
      `LWS_LEADER_ADDRESS ${quote(address.value)} has no .svc.${zone}: it resolves only through a ClusterFirst search list; completed here to ${quote(leaderName)} (pass that name to tools that resolve it themselves)`,
    );
  } else {
    ns = namespaceOf(view, 'LeaderWorkerSet');
    leaderName = completeName(address.value, view, address.source).name;
  }
  const subdomain: Sourced<string> = {
    value: labels[1]!,
    source: `${address.source} second label (subdomainPolicy ${labels[1] === leader ? 'UniquePerReplica' : 'Shared'})`,
  };
  const suffix = leaderName.slice(leader.length);
  const peers = [leaderName, ...Array.from({ length: n - 1 }, (_, i) => `${leader}-${i + 1}${suffix}`)];
  selfCheck(view, peers, index, warnings);
  const group = /^(.+)-(0|[1-9][0-9]*)$/.exec(leader);
  return {
    peers,
    index: { value: index, source: worker.source },
    completions: { value: n, source: size.source },
    jobName: { value: leader, source: `${address.source} first label (the group's leader)` },
    subdomain,
    details: [
      ...(group
        ? [{ label: 'leaderworkerset', value: group[1]!, source: `${address.source} minus -${group[2]}` }]
        : []),
      ...(group ? [{ label: 'group index', value: group[2]!, source: `${address.source} suffix` }] : []),
    ],
    jobKey: `lws/${ns.value}/${leader}/${n}`,
    warnings,
  };
}

// -------------------------------------------------------------------------------------------- StatefulSet

function statefulsetProvider(view: PodView, o: ProviderOptions, origin: Origin): ProviderResult {
  const warnings: string[] = [];
  const replicasS = need(
    optionValue(o.replicas, origin('replicas')),
    "no replicas: a StatefulSet pod cannot see .spec.replicas; pass --replicas or set PEER_RENDEZVOUS_REPLICAS to the StatefulSet's spec.replicas",
    'option replicas',
  );
  const replicas = int(replicasS, 'replicas', 1);
  const startS = optionValue(o.ordinalsStart, origin('ordinalsStart')) ?? {
    value: '0',
    source: 'default (.spec.ordinals.start unset)',
  };
  const start = int(startS, 'ordinals start', 0);
  const host = view.hostname.value;
  const m = /^(.+)-(0|[1-9][0-9]*)$/.exec(host);
  const ordinalS =
    podMeta(view, 'apps.kubernetes.io/pod-index') ??
    (m ? { value: m[2]!, source: `${view.hostname.source} suffix` } : undefined);
  const ordinal = int(
    need(
      ordinalS,
      `no ordinal: hostname ${quote(host)} is not <statefulset>-<ordinal> and there is no apps.kubernetes.io/pod-index label at ${view.labelsPath}`,
      view.labelsPath,
    ),
    'ordinal',
    0,
  );
  const name = need(
    m && Number(m[2]) === ordinal
      ? { value: m[1]!, source: `${view.hostname.source} minus -${ordinal}` }
      : undefined,
    `no StatefulSet name: hostname ${quote(host)} is not <statefulset>-${ordinal}`,
    view.hostname.source,
  );
  if (ordinal < start || ordinal >= start + replicas) {
    throw new ConfigError(
      `ordinal ${ordinal} from ${ordinalS!.source} is outside ${start}..${start + replicas - 1} (${startS.source}, ${replicasS.source})`,
      { value: String(ordinal), source: ordinalS!.source },
    );
  }
  const subdomain = need(
    view.subdomain,
    `no governing Service: ${view.sources.paths.hosts} has no FQDN for ${quote(host)} (spec.serviceName unset?); pass --subdomain`,
    view.sources.paths.hosts,
  );
  const ns = namespaceOf(view, 'StatefulSet');
  const peers = Array.from({ length: replicas }, (_, i) =>
    fqdn(view, ns, `${name.value}-${start + i}`, subdomain.value),
  );
  warnings.push(
    'StatefulSet: with podManagementPolicy OrderedReady (the default) pod N+1 is created only after pod N is Ready, so no barrier can complete; set podManagementPolicy: Parallel (the pod cannot see the policy, so this is always said)',
  );
  return {
    peers,
    index: { value: ordinal - start, source: `${ordinalS!.source} minus ordinals start ${start}` },
    completions: { value: replicas, source: replicasS.source },
    jobName: name,
    subdomain,
    details: [
      { label: 'ordinal', value: String(ordinal), source: ordinalS!.source },
      { label: 'ordinals start', value: String(start), source: startS.source },
    ],
    jobKey: `statefulset/${ns.value}/${name.value}/${start}/${replicas}`,
    warnings,
  };
}

// ------------------------------------------------------------------------------------ Kubeflow Trainer v2

function trainerProvider(view: PodView): ProviderResult {
  const warnings: string[] = [];
  const torch = envOf(view, 'PET_MASTER_ADDR') !== undefined;
  const nnodes = torch ? envOf(view, 'PET_NNODES') : envOf(view, 'JAX_NUM_PROCESSES');
  const rank = torch
    ? (envOf(view, 'PET_NODE_RANK') ?? envOf(view, 'JOB_COMPLETION_INDEX'))
    : (envOf(view, 'JAX_PROCESS_ID') ?? envOf(view, 'JOB_COMPLETION_INDEX'));
  const master = torch ? envOf(view, 'PET_MASTER_ADDR') : envOf(view, 'JAX_COORDINATOR_ADDRESS');
  const what = torch
    ? 'PET_NNODES/PET_NODE_RANK/PET_MASTER_ADDR'
    : 'JAX_NUM_PROCESSES/JAX_PROCESS_ID/JAX_COORDINATOR_ADDRESS';
  const n = int(
    need(nnodes, `no node count: ${what} are not all set; is this a TrainJob pod?`, 'env'),
    'node count',
    1,
  );
  const rankS = need(rank, `no node rank: ${what} are not all set; is this a TrainJob pod?`, 'env');
  const index = int(rankS, 'node rank', 0);
  const masterS = need(master, `no master address: ${what} are not all set`, 'env');
  // `<trainjob>-node-0-0.<trainjob>` (short, no namespace; JAX adds :<port>) — FIELD.md §4.
  const bare = masterS.value.replace(/:[0-9]+$/, '').toLowerCase();
  const labels = trimDot(bare).split('.');
  const hm = /^(.+)-0-0$/.exec(labels[0]!);
  if (!hm || labels.length < 2) {
    throw new ConfigError(
      `master address ${quote(masterS.value)} from ${masterS.source} is not <trainjob>-<rjob>-0-0.<subdomain> as Trainer v2 writes it (JobSet pod 0 of job 0)`,
      { value: masterS.value, source: masterS.source },
    );
  }
  if (index >= n)
    throw new ConfigError(
      `node rank ${index} from ${rankS.source} is not below the node count ${n} from ${nnodes!.source}`,
      {
        value: String(index),
        source: rankS.source,
      },
    );
  const prefix = hm[1]!;
  const subdomain: Sourced<string> = { value: labels[1]!, source: `${masterS.source} second label` };
  const ns =
    labels.length >= 3
      ? { value: labels[2]!, source: `${masterS.source} third label` }
      : namespaceOf(view, 'TrainJob');
  const peers = Array.from({ length: n }, (_, i) => fqdn(view, ns, `${prefix}-0-${i}`, subdomain.value));
  if (labels.length < 4)
    warnings.push(
      `${masterS.source.replace('env ', '')} ${quote(masterS.value)} is a short name: it resolves only through a ClusterFirst search list; the absolute name is ${quote(peers[0]!)}`,
    );
  selfCheck(view, peers, index, warnings);
  return {
    peers,
    index: { value: index, source: rankS.source },
    completions: { value: n, source: nnodes!.source },
    jobName: {
      value: labels[1]!,
      source: `${masterS.source} second label (the TrainJob's JobSet subdomain)`,
    },
    subdomain,
    details: [
      { label: 'master', value: bare, source: masterS.source },
      ...(prefix.startsWith(`${labels[1]}-`)
        ? [
            {
              label: 'replicated job',
              value: prefix.slice(labels[1]!.length + 1),
              source: `${masterS.source} first label minus ${labels[1]}- and -0-0`,
            },
          ]
        : []),
    ],
    jobKey: `trainer/${ns.value}/${prefix}/${n}`,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------- Volcano

function volcanoProvider(view: PodView, o: ProviderOptions, origin: Origin): ProviderResult {
  const warnings: string[] = [];
  const taskIndexS = need(
    envOf(view, 'VC_TASK_INDEX') ?? envOf(view, 'VK_TASK_INDEX'),
    'no VC_TASK_INDEX: is this a Volcano job pod (env plugin)?',
    'env VC_TASK_INDEX',
  );
  const taskIndex = int(taskIndexS, 'task index', 0);
  const job = need(
    view.subdomain,
    `no vcjob name: ${view.sources.paths.hosts} has no FQDN for ${quote(view.hostname.value)} (the svc plugin sets subdomain = the job name); pass --subdomain`,
    view.sources.paths.hosts,
  );
  const host = view.hostname.value;
  const ns = namespaceOf(view, 'Volcano');
  // Hosts per task: VC_<TASK>_HOSTS env (svc plugin --inject-hosts-env), else /etc/volcano/<task>.host.
  const tasks = new Map<string, { hosts: string[]; source: string; num?: Sourced<string> }>();
  for (const [k, v] of Object.entries(view.env)) {
    const m = /^VC_([A-Z0-9_]+)_HOSTS$/.exec(k);
    if (!m || v === undefined) continue;
    const task = m[1]!.toLowerCase().replace(/_/g, '-');
    const num = envOf(view, `VC_${m[1]}_NUM`);
    tasks.set(task, {
      hosts: v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      source: `env ${k}`,
      ...(num ? { num } : {}),
    });
  }
  const ownTask =
    host.startsWith(`${job.value}-`) && host.endsWith(`-${taskIndex}`)
      ? host.slice(job.value.length + 1, host.length - String(taskIndex).length - 1)
      : undefined;
  const order = nonEmpty(o.volcanoTasks)
    ? String(o.volcanoTasks)
        .split(',')
        .map((s) => s.trim())
    : undefined;
  const wanted = new Set([...(order ?? []), ...tasks.keys(), ...(ownTask ? [ownTask] : [])]);
  for (const task of wanted) {
    if (tasks.has(task)) continue;
    const path = `${view.sources.paths.volcano}/${task}.host`;
    const text = view.sources.readFile(path);
    if (text !== undefined)
      tasks.set(task, {
        hosts: text
          .split('\n')
          .map((s) => s.trim())
          .filter(Boolean),
        source: path,
      });
  }
  if (ownTask === undefined || !tasks.has(ownTask)) {
    throw new ConfigError(
      `no host list for this pod's task: hostname ${quote(host)} is not <job ${job.value}>-<task>-${taskIndex} with a VC_<TASK>_HOSTS variable or ${view.sources.paths.volcano}/<task>.host (enable the svc plugin)`,
      { value: host, source: view.hostname.source },
    );
  }
  const names = order ?? [...tasks.keys()].sort();
  for (const t of names) {
    if (!tasks.has(t))
      throw new ConfigError(
        `task ${quote(t)} from ${origin('volcanoTasks')} has no VC_<TASK>_HOSTS variable and no ${view.sources.paths.volcano}/${t}.host`,
        {
          value: t,
          source: origin('volcanoTasks'),
        },
      );
  }
  if (!names.includes(ownTask))
    throw new ConfigError(
      `this pod's task ${quote(ownTask)} is not in ${quote(names.join(','))} from ${origin('volcanoTasks')}`,
      {
        value: names.join(','),
        source: origin('volcanoTasks'),
      },
    );
  const peers: string[] = [];
  let index = -1;
  for (const t of names) {
    const entry = tasks.get(t)!;
    if (entry.num !== undefined && int(entry.num, 'task size', 0) !== entry.hosts.length)
      warnings.push(
        `${entry.num.source}=${entry.num.value} but ${entry.source} lists ${entry.hosts.length} hosts`,
      );
    if (t === ownTask) index = peers.length + taskIndex;
    for (const h of entry.hosts)
      peers.push(completeName(h, { namespace: ns, clusterDomain: view.clusterDomain }, entry.source).name);
  }
  if (taskIndex >= tasks.get(ownTask)!.hosts.length)
    throw new ConfigError(
      `task index ${taskIndex} from ${taskIndexS.source} is outside the ${tasks.get(ownTask)!.hosts.length} hosts of ${tasks.get(ownTask)!.source}`,
      {
        value: String(taskIndex),
        source: taskIndexS.source,
      },
    );
  selfCheck(view, peers, index, warnings);
  warnings.push(
    'Volcano: the svc plugin\'s Service has publishNotReadyAddresses false unless the job sets the plugin argument --publish-not-ready-addresses (svc: ["--publish-not-ready-addresses"]); without it peers resolve only once Ready, so run the agent in the main container, not an init container or sidecar',
  );
  return {
    peers,
    index: { value: index, source: `hosts of the tasks before ${ownTask} + ${taskIndexS.source}` },
    completions: { value: peers.length, source: `hosts of tasks ${names.join(',')}` },
    jobName: { value: job.value, source: `${job.source} (the svc plugin's subdomain = vcjob name)` },
    subdomain: job,
    details: [
      {
        label: 'task',
        value: ownTask,
        source: `${view.hostname.source} minus ${job.value}- and -${taskIndex}`,
      },
      { label: 'task index', value: String(taskIndex), source: taskIndexS.source },
      {
        label: 'task order',
        value: names.join(','),
        source: order ? origin('volcanoTasks') : 'alphabetical (pass --volcano-tasks for another order)',
      },
      ...names.map((t) => ({
        label: `hosts ${t}`,
        value: String(tasks.get(t)!.hosts.length),
        source: tasks.get(t)!.source,
      })),
    ],
    jobKey: `volcano/${ns.value}/${job.value}/${names.join(',')}/${peers.length}`,
    warnings,
  };
}

// ------------------------------------------------------------------------------- mpi-operator / Trainer MPI

function mpiProvider(
  view: PodView,
  o: ProviderOptions,
  origin: Origin,
  hostfilePath: Sourced<string>,
): ProviderResult {
  const warnings: string[] = [];
  const role = envOf(view, 'K_MPI_JOB_ROLE');
  const host = view.hostname.value;
  const sub = need(
    view.subdomain,
    `no MPIJob name: ${view.sources.paths.hosts} has no FQDN for ${quote(host)} (mpi-operator sets subdomain = the MPIJob name); pass --subdomain`,
    view.sources.paths.hosts,
  );
  const ns = namespaceOf(view, 'MPIJob');
  const text = view.sources.readFile(hostfilePath.value);
  // Trainer MPI runs on JobSet: pods are <tj>-<rjob>-<job>-<pod>; mpi-operator v2: <job>-worker-<i>, <job>-launcher.
  const jobsetShape = new RegExp(`^${escapeRe(sub.value)}-.+-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$`).test(host);
  const launcherHost = jobsetShape ? `${sub.value}-launcher-0-0` : `${sub.value}-launcher`;
  const launcher = fqdn(view, ns, launcherHost, sub.value);
  let workers: string[];
  let workersSource: string;
  if (text !== undefined) {
    const entries = parseMpiHostfile(text, hostfilePath.value);
    if (entries.length === 0)
      throw new ConfigError(`MPI hostfile ${hostfilePath.value} lists no hosts`, {
        source: hostfilePath.value,
      });
    workers = entries.map(
      (e) =>
        completeName(e.host, { namespace: ns, clusterDomain: view.clusterDomain }, hostfilePath.value).name,
    );
    workersSource = hostfilePath.source;
  } else {
    const replicas = int(
      need(
        optionValue(o.replicas, origin('replicas')),
        `no worker list: ${hostfilePath.value} is not mounted in this pod (mpi-operator mounts it in the launcher only); pass --replicas <Worker replicas>`,
        hostfilePath.value,
      ),
      'replicas',
      1,
    );
    workers = Array.from({ length: replicas }, (_, i) =>
      fqdn(view, ns, `${sub.value}-worker-${i}`, sub.value),
    );
    workersSource = `${origin('replicas')} (workers <job>-worker-<i>)`;
  }
  // The launcher coordinates (index 0): it is the pod that must resolve every worker (mpi-operator#481).
  const peers = workers.includes(launcher)
    ? [launcher, ...workers.filter((w) => w !== launcher)]
    : [launcher, ...workers];
  const self = peers.findIndex((p) => p.split('.')[0] === host);
  if (self < 0) {
    throw new ConfigError(
      `hostname ${quote(host)} is neither the launcher ${quote(launcherHost)} nor a host of ${workersSource}`,
      { value: host, source: view.hostname.source },
    );
  }
  if (!jobsetShape)
    warnings.push(
      "mpi-operator: the MPIJob's Service has publishNotReadyAddresses false (true only with runLauncherAsWorker), so workers resolve only once Ready: run the agent in the main container (wrapping sshd), not an init container",
    );
  return {
    peers,
    index: {
      value: self,
      source: `position of ${view.hostname.source} ${quote(host)} in [launcher, ...workers]`,
    },
    completions: { value: peers.length, source: `launcher + ${workers.length} hosts of ${workersSource}` },
    jobName: { value: sub.value, source: `${sub.source} (the MPIJob's Service)` },
    subdomain: sub,
    details: [
      ...(role ? [detail('role', role)] : []),
      {
        label: 'launcher',
        value: launcherHost,
        source: jobsetShape
          ? `${sub.value}-launcher-0-0 (Trainer MPI on JobSet)`
          : `${sub.value}-launcher (mpi-operator v2)`,
      },
      { label: 'workers', value: String(workers.length), source: workersSource },
    ],
    jobKey: `mpi/${ns.value}/${sub.value}/${peers.length}`,
    warnings,
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

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
