// `manifest --kind jobset|lws|statefulset|mpijob|trainjob|vcjob`: the same agent (wrapper mode) under each
// controller, with what that controller needs for the barrier (FIELD.md §1-5): the provider named in env, the
// values the pod cannot see (topology, replicas), a downward-API volume where the identity is in annotations,
// publishNotReadyAddresses where the controller lets us set it, Parallel pod management for a StatefulSet.
import { UsageError } from '../errors.js';
import { parseJobsetTopology, type ReplicatedJob } from '../identity/providers/jobset.js';
import { DEFAULT_PATHS } from '../identity/sources.js';
import { addTokenVolume, agentFlags, EXECUTABLE, metadata, PORT_NAME, TOKEN_FILE } from './build.js';
import type { ManifestOptions } from './options.js';
import type { YamlDocument, YamlValue } from './yaml.js';

export const MANIFEST_KINDS = ['job', 'jobset', 'lws', 'statefulset', 'mpijob', 'trainjob', 'vcjob'] as const;
export type ManifestKind = (typeof MANIFEST_KINDS)[number];

type KubeObject = { [key: string]: YamlValue };

/** The objects of one controller kind and their YAML documents. */
export interface KindManifest {
  readonly objects: readonly KubeObject[];
  readonly documents: readonly YamlDocument[];
}

/** Options of the controller kinds besides the shared manifest options. */
export interface KindOptions {
  /** JobSet: `rjob=<replicas>x<pods>,…` (default `node=1x<completions>`). */
  readonly topology?: string | undefined;
  /** TrainJob: the ClusterTrainingRuntime to run on (default torch-distributed). */
  readonly runtime?: string | undefined;
}

function env(o: ManifestOptions, provider: string, extra: Record<string, string> = {}): YamlValue[] {
  return [
    { name: 'PEER_RENDEZVOUS_PROVIDER', value: provider },
    { name: 'PEER_RENDEZVOUS_PORT', value: String(o.port) },
    ...Object.entries(extra).map(([name, value]) => ({ name, value })),
    // The token as a file of the mounted Secret (addTokenVolume), never an env var.
    ...(o.tokenSecret === undefined ? [] : [{ name: 'PEER_RENDEZVOUS_TOKEN_FILE', value: TOKEN_FILE }]),
  ];
}

/** The workload container with the agent in front of `command`. */
function container(
  o: ManifestOptions,
  envList: YamlValue[],
  command: readonly string[],
  extra: KubeObject = {},
): KubeObject {
  return {
    name: o.containerName,
    image: o.image,
    command: [EXECUTABLE, ...agentFlags(o), '--', ...command],
    env: envList,
    ports: [{ name: PORT_NAME, containerPort: o.port, protocol: 'TCP' }],
    ...extra,
  };
}

const PODINFO = 'podinfo';
/** A downward-API volume with the pod's labels and annotations at /etc/podinfo. */
const podinfoVolume: KubeObject = {
  name: PODINFO,
  downwardAPI: {
    items: [
      { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
      { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
    ],
  },
};
const podinfoMount: KubeObject = { name: PODINFO, mountPath: DEFAULT_PATHS.podinfo, readOnly: true };

/** Build the objects of `kind` (not `job`, which build.ts makes). */
export function buildKindManifest(
  kind: Exclude<ManifestKind, 'job'>,
  o: ManifestOptions,
  k: KindOptions = {},
): KindManifest {
  if (o.mode !== 'wrapper')
    throw new UsageError(`--kind ${kind} supports --mode wrapper only (the agent in the main container)`);
  switch (kind) {
    case 'jobset':
      return jobset(o, k);
    case 'lws':
      return lws(o);
    case 'statefulset':
      return statefulset(o);
    case 'mpijob':
      return mpijob(o);
    case 'trainjob':
      return trainjob(o, k);
    case 'vcjob':
      return vcjob(o);
  }
}

function jobset(o: ManifestOptions, k: KindOptions): KindManifest {
  const rjobs: ReplicatedJob[] =
    k.topology === undefined
      ? [{ name: 'node', replicas: 1, pods: o.completions }]
      : usage(() => parseJobsetTopology(k.topology!, 'flag --topology'));
  const topology = rjobs.map((r) => `${r.name}=${r.replicas}x${r.pods}`).join(',');
  const obj: KubeObject = {
    apiVersion: 'jobset.x-k8s.io/v1alpha2',
    kind: 'JobSet',
    metadata: metadata(o, o.name),
    spec: {
      network: { enableDNSHostnames: true, publishNotReadyAddresses: true, subdomain: o.serviceName },
      replicatedJobs: rjobs.map((r) => ({
        name: r.name,
        replicas: r.replicas,
        template: {
          spec: {
            completions: r.pods,
            parallelism: r.pods,
            completionMode: 'Indexed',
            backoffLimit: 0,
            template: {
              spec: addTokenVolume(o, {
                restartPolicy: 'Never',
                containers: [
                  container(o, env(o, 'jobset', { PEER_RENDEZVOUS_JOBSET_TOPOLOGY: topology }), o.command, {
                    volumeMounts: [podinfoMount],
                  }),
                ],
                volumes: [podinfoVolume],
              }),
            },
          },
        },
      })),
    },
  };
  return {
    objects: [obj],
    documents: [
      {
        value: obj,
        comments: {
          '': `Generated by peer-rendezvous manifest --kind jobset. One barrier over every pod of every replicated job (${topology}), global rank in this order.`,
          'spec.network.publishNotReadyAddresses':
            'JobSet defaults this to true; said here so nobody turns it off.',
        },
      },
    ],
  };
}

function lws(o: ManifestOptions): KindManifest {
  const pod = { spec: addTokenVolume(o, { containers: [container(o, env(o, 'lws'), o.command)] }) };
  const obj: KubeObject = {
    apiVersion: 'leaderworkerset.x-k8s.io/v1',
    kind: 'LeaderWorkerSet',
    metadata: metadata(o, o.name),
    spec: {
      replicas: 1,
      leaderWorkerTemplate: { size: o.completions, leaderTemplate: pod, workerTemplate: pod },
      networkConfig: { subdomainPolicy: 'Shared' },
    },
  };
  return {
    objects: [obj],
    documents: [
      {
        value: obj,
        comments: {
          '': 'Generated by peer-rendezvous manifest --kind lws. Each group (leader + size-1 workers) is one barrier; LWS injects LWS_LEADER_ADDRESS, LWS_GROUP_SIZE, LWS_WORKER_INDEX and publishes not-ready addresses itself.',
        },
      },
    ],
  };
}

function statefulset(o: ManifestOptions): KindManifest {
  const labels = { 'app.kubernetes.io/name': o.name };
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(o, o.serviceName),
    spec: {
      clusterIP: 'None',
      selector: labels,
      ports: [{ name: PORT_NAME, port: o.port, targetPort: o.port, protocol: 'TCP' }],
      publishNotReadyAddresses: true,
    },
  };
  const sts: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(o, o.name),
    spec: {
      serviceName: o.serviceName,
      replicas: o.completions,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: addTokenVolume(o, {
          containers: [
            container(
              o,
              env(o, 'statefulset', { PEER_RENDEZVOUS_REPLICAS: String(o.completions) }),
              o.command,
            ),
          ],
        }),
      },
    },
  };
  return {
    objects: [service, sts],
    documents: [
      {
        value: service,
        comments: {
          '': 'Generated by peer-rendezvous manifest --kind statefulset. The governing Service must exist before the StatefulSet.',
          'spec.publishNotReadyAddresses': 'Peers are in DNS before they are Ready.',
        },
      },
      {
        value: sts,
        comments: {
          'spec.podManagementPolicy':
            'Parallel: the default OrderedReady starts pod N+1 only after pod N is Ready, which deadlocks any barrier.',
          'spec.replicas': 'Keep PEER_RENDEZVOUS_REPLICAS equal to this: the pod cannot see it.',
          'spec.template':
            'A StatefulSet restarts a container that exits (the barrier then runs again): for a run-to-completion workload prefer --kind jobset or job.',
        },
      },
    ],
  };
}

function mpijob(o: ManifestOptions): KindManifest {
  const workers = o.completions;
  const obj: KubeObject = {
    apiVersion: 'kubeflow.org/v2beta1',
    kind: 'MPIJob',
    metadata: metadata(o, o.name),
    spec: {
      slotsPerWorker: 1,
      runPolicy: { cleanPodPolicy: 'Running' },
      mpiReplicaSpecs: {
        Launcher: {
          replicas: 1,
          template: {
            spec: addTokenVolume(o, { containers: [container(o, env(o, 'mpi-operator'), o.command)] }),
          },
        },
        Worker: {
          replicas: workers,
          template: {
            spec: addTokenVolume(o, {
              containers: [
                container(o, env(o, 'mpi-operator', { PEER_RENDEZVOUS_REPLICAS: String(workers) }), [
                  '/usr/sbin/sshd',
                  '-De',
                ]),
              ],
            }),
          },
        },
      },
    },
  };
  return {
    objects: [obj],
    documents: [
      {
        value: obj,
        comments: {
          '': 'Generated by peer-rendezvous manifest --kind mpijob. The launcher (index 0) is released only when every worker resolves and has joined; workers start sshd only then.',
          spec: "mpi-operator's Service has publishNotReadyAddresses false (true only with runLauncherAsWorker): keep the agent in the main container, as here, never in an init container.",
        },
      },
    ],
  };
}

function trainjob(o: ManifestOptions, k: KindOptions): KindManifest {
  if (o.tokenSecret !== undefined) {
    throw new UsageError(
      '--kind trainjob cannot take --token-secret: a TrainJob cannot mount volumes into the trainer pods (the runtime does); mount the Secret in the ClusterTrainingRuntime and set PEER_RENDEZVOUS_TOKEN_FILE there',
    );
  }
  const obj: KubeObject = {
    apiVersion: 'trainer.kubeflow.org/v1alpha1',
    kind: 'TrainJob',
    metadata: metadata(o, o.name),
    spec: {
      runtimeRef: { name: k.runtime ?? 'torch-distributed' },
      trainer: {
        image: o.image,
        command: [EXECUTABLE, ...agentFlags(o), '--', ...o.command],
        numNodes: o.completions,
        env: env(o, 'trainer') as YamlValue,
      },
    },
  };
  return {
    objects: [obj],
    documents: [
      {
        value: obj,
        comments: {
          '': 'Generated by peer-rendezvous manifest --kind trainjob. Trainer sets PET_NNODES, PET_NODE_RANK and PET_MASTER_ADDR; the agent builds the node list from them. The runtime owns the JobSet network (publishNotReadyAddresses).',
        },
      },
    ],
  };
}

function vcjob(o: ManifestOptions): KindManifest {
  const obj: KubeObject = {
    apiVersion: 'batch.volcano.sh/v1alpha1',
    kind: 'Job',
    metadata: metadata(o, o.name),
    spec: {
      minAvailable: o.completions,
      schedulerName: 'volcano',
      plugins: { env: [], svc: ['--publish-not-ready-addresses'] },
      tasks: [
        {
          name: 'worker',
          replicas: o.completions,
          template: {
            spec: addTokenVolume(o, {
              restartPolicy: 'Never',
              containers: [container(o, env(o, 'volcano'), o.command)],
            }),
          },
        },
      ],
    },
  };
  return {
    objects: [obj],
    documents: [
      {
        value: obj,
        comments: {
          '': 'Generated by peer-rendezvous manifest --kind vcjob. The env plugin gives VC_TASK_INDEX, the svc plugin hostnames, subdomain and VC_<TASK>_HOSTS.',
          'spec.plugins':
            "svc --publish-not-ready-addresses: the svc plugin's Service leaves it false otherwise.",
        },
      },
    ],
  };
}

function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
