// mpi-operator v2 and Trainer MPI: the launcher first, then the workers of the hostfile or `--replicas`.
import { ConfigError, quote } from '../../errors.js';
import { completeName, envOf, type PodView, type Sourced } from '../pod-view.js';
import { parseMpiHostfile } from '../podinfo.js';
import type { Origin, ProviderOptions, ProviderResult } from '../providers.js';
import { detail, escapeRe, fqdn, int, namespaceOf, need, optionValue } from './shared.js';

/** The MPI provider: launcher at index 0 (it must resolve every worker), workers after it. */
export function mpiProvider(
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
