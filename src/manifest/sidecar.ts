// `manifest --sidecar`: the agent as a native sidecar (an init container with restartPolicy: Always, K8s ≥ 1.29)
// whose startupProbe holds the main containers back until the release. The workload's image and command stay
// as they are: the main container sources the exports from a shared emptyDir and execs the command.
import { DEFAULT_TIMEOUT_MS } from '../defaults.js';
import { parseDuration } from '../duration.js';
import { UsageError } from '../errors.js';
import {
  addTokenVolume,
  agentEnv,
  agentFlags,
  agentPorts,
  EXECUTABLE,
  IMAGE_EXECUTABLE,
  type Manifest,
} from './build.js';
import type { ManifestKind } from './kinds.js';
import type { ManifestOptions } from './options.js';
import type { YamlValue } from './yaml.js';

/** Where the sidecar writes the exports, in both containers (the sidecar command's default). */
export const SIDECAR_EXPORT_DIR = '/run/peer-rendezvous';
/** The probe port (`peer-rendezvous sidecar --probe-port` default) and its container port name. */
export const SIDECAR_PROBE_PORT = 29601;
export const PROBE_PORT_NAME = 'rdv-probe';
/** startupProbe period; its failureThreshold covers the agent's --timeout plus this margin. */
export const PROBE_PERIOD_SECONDS = 1;
export const PROBE_MARGIN_SECONDS = 30;
const VOLUME = `${EXECUTABLE}-exports`;

type KubeObject = { [key: string]: YamlValue };

/**
 * Whether the headless Service of a `manifest --kind` publishes pods before they are Ready. mpi-operator's
 * Service has publishNotReadyAddresses false (true only with runLauncherAsWorker) and cannot be told
 * otherwise from the MPIJob; the others set it true (kinds.ts), or leave it to the runtime (trainjob).
 */
export function kindPublishesNotReady(kind: ManifestKind): boolean | undefined {
  if (kind === 'mpijob') return false;
  if (kind === 'trainjob') return undefined;
  return true;
}

/**
 * Refuse what cannot work with a sidecar barrier: another --mode, another --kind than the Indexed Job, or a
 * Service that publishes only Ready pods (a pod whose sidecar has not started is not Ready, so no peer name
 * would ever resolve: a deadlock).
 */
export function checkSidecarOptions(
  o: ManifestOptions,
  extra: { kind?: ManifestKind | undefined; publishNotReadyAddresses?: boolean | undefined },
): void {
  if (o.mode !== 'wrapper') {
    throw new UsageError(
      `--sidecar replaces --mode (got --mode ${o.mode}): the agent runs as a native sidecar next to the unchanged workload`,
    );
  }
  if (extra.publishNotReadyAddresses === false) {
    throw new UsageError(
      `--sidecar needs publishNotReadyAddresses: true on the headless Service${extra.kind === undefined ? '' : ` (--kind ${extra.kind}'s Service has it false)`}: while the sidecar waits, its pod is not Ready, ` +
        'and without it no pod would be in DNS, so every barrier would wait for the others forever (a deadlock)',
    );
  }
  if (extra.kind !== undefined && extra.kind !== 'job') {
    throw new UsageError(
      `--sidecar builds an Indexed Job (--kind job); --kind ${extra.kind} is not supported with it: use --kind ${extra.kind} without --sidecar (the agent wraps the command)`,
    );
  }
}

/** The startupProbe's failureThreshold for the agent's timeout: period × threshold > timeout. */
export function probeFailureThreshold(timeout: string | undefined): number {
  const ms = timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(timeout, 'flag --timeout');
  return Math.ceil(ms / 1000 / PROBE_PERIOD_SECONDS) + PROBE_MARGIN_SECONDS;
}

/** The manifest with the Job's pod rebuilt around a native sidecar and the Service publishing not-ready pods. */
export function applySidecar(m: Manifest, o: ManifestOptions): Manifest {
  const service = structuredClone(m.service) as KubeObject;
  (service.spec as KubeObject).publishNotReadyAddresses = true;
  const job = structuredClone(m.job) as KubeObject;
  const template = (job.spec as KubeObject).template as KubeObject;
  const pod = template.spec as KubeObject;
  const threshold = probeFailureThreshold(o.timeout);
  // With --token-secret: the Secret mounted in the sidecar only (the container whose env names the file).
  template.spec = addTokenVolume(o, {
    subdomain: pod.subdomain as string,
    restartPolicy: pod.restartPolicy as string,
    initContainers: [
      {
        name: EXECUTABLE,
        image: o.agentImage,
        restartPolicy: 'Always',
        command: [
          IMAGE_EXECUTABLE,
          'sidecar',
          ...agentFlags(o),
          '--export-dir',
          SIDECAR_EXPORT_DIR,
          '--probe-port',
          String(SIDECAR_PROBE_PORT),
        ],
        env: agentEnv(o),
        ports: [
          ...agentPorts(o),
          { name: PROBE_PORT_NAME, containerPort: SIDECAR_PROBE_PORT, protocol: 'TCP' },
        ],
        startupProbe: {
          httpGet: { path: '/readyz', port: PROBE_PORT_NAME },
          periodSeconds: PROBE_PERIOD_SECONDS,
          failureThreshold: threshold,
        },
        volumeMounts: [{ name: VOLUME, mountPath: SIDECAR_EXPORT_DIR }],
        // The agent's failure summary, or its last log lines, in `kubectl describe pod`.
        terminationMessagePolicy: 'FallbackToLogsOnError',
      },
    ],
    containers: [
      {
        name: o.containerName,
        image: o.image,
        command: ['sh', '-c', `. ${SIDECAR_EXPORT_DIR}/env && exec "$@"`, 'sh', ...o.command],
        volumeMounts: [{ name: VOLUME, mountPath: SIDECAR_EXPORT_DIR, readOnly: true }],
      },
    ],
    volumes: [{ name: VOLUME, emptyDir: {} }],
  });
  const [svcDoc, jobDoc] = m.documents as [Manifest['documents'][0], Manifest['documents'][0]];
  const timeoutText = o.timeout ?? '10m';
  return {
    service,
    job,
    documents: [
      {
        value: service,
        comments: {
          ...svcDoc.comments,
          '': String(svcDoc.comments?.[''] ?? '').replace(/--mode \S+/, '--sidecar'),
          'spec.publishNotReadyAddresses':
            'Required by the sidecar: while it waits, its pod is not Ready; only this puts waiting pods in DNS\n' +
            '(without it every pod would wait for names that never appear: a deadlock).',
        },
      },
      {
        value: job,
        comments: {
          ...jobDoc.comments,
          'spec.template.spec.initContainers':
            'A native sidecar (restartPolicy: Always, Kubernetes >= 1.29): the main container starts only once its\n' +
            `startupProbe passes, i.e. at the release. periodSeconds x failureThreshold (${threshold} s) exceeds the\n` +
            `agent's --timeout (${timeoutText}), so the kubelet never restarts a sidecar that is still within it. It stays up\n` +
            'after the release so that a replacement pod rejoins with the same roster and generation.',
          'spec.template.spec.containers':
            'The image and command are unchanged (the image needs a POSIX sh): the command runs with the exports\n' +
            'of the env file the sidecar wrote.',
        },
      },
    ],
  };
}
