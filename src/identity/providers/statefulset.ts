// StatefulSet: `<sts>-<ordinal>` for `--replicas` ordinals from `.spec.ordinals.start`.
import { ConfigError, quote } from '../../errors.js';
import { type PodView, podMeta } from '../pod-view.js';
import type { Origin, ProviderOptions, ProviderResult } from '../providers.js';
import { fqdn, int, namespaceOf, need, optionValue } from './shared.js';

/** The StatefulSet provider: the ordinal from the hostname or pod-index label, the size from `--replicas`. */
export function statefulsetProvider(view: PodView, o: ProviderOptions, origin: Origin): ProviderResult {
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
