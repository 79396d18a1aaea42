// JobSet: global rank over the replicated jobs in spec order, from annotations or `--jobset-topology`.
import { ConfigError, quote } from '../../errors.js';
import { envOf, type PodView, podMeta, type Sourced, trimDot } from '../pod-view.js';
import type { Origin, ProviderOptions, ProviderResult } from '../providers.js';
import { assertLabel, parseDecimal } from '../validate.js';
import { detail, fqdn, int, JS, namespaceOf, need, nonEmpty, optionValue } from './shared.js';

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
/** The JobSet provider: every pod of every Job of every replicated job, in global rank order. */
export function jobsetProvider(view: PodView, o: ProviderOptions, origin: Origin): ProviderResult {
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

/** `driver=1x1,workers=2x4` back from the parsed list. */
function formatTopology(rjobs: readonly ReplicatedJob[]): string {
  return rjobs.map((r) => `${r.name}=${r.replicas}x${r.pods}`).join(',');
}
