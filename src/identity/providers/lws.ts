// LeaderWorkerSet: one group, the leader from LWS_LEADER_ADDRESS and LWS_GROUP_SIZE workers after it.
import { ConfigError, quote } from '../../errors.js';
import { completeName, envOf, type PodView, podMeta, type Sourced, trimDot } from '../pod-view.js';
import type { ProviderResult } from '../providers.js';
import { int, namespaceOf, need, selfCheck } from './shared.js';

/** The LeaderWorkerSet provider: `<lws>-<g>` then `<lws>-<g>-<i>` for the group's workers. */
export function lwsProvider(view: PodView): ProviderResult {
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
