// Kubeflow Trainer v2: the node count, rank and master address Trainer injects (torch PET_*, jax JAX_*).
import { ConfigError, quote } from '../../errors.js';
import { envOf, type PodView, type Sourced, trimDot } from '../pod-view.js';
import type { ProviderResult } from '../providers.js';
import { fqdn, int, namespaceOf, need, selfCheck } from './shared.js';

/** The Trainer provider: `<trainjob>-<rjob>-0-<i>` under the master address's subdomain. */
export function trainerProvider(view: PodView): ProviderResult {
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
