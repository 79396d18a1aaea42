// One run per identity provider in network-namespace pods with Knot as the cluster DNS: hostnames and
// subdomains as each controller makes them (FIELD.md §1-5), the controller's env and files, no identity flags
// beyond what the pod cannot see. Every pod must be released with the same roster and export its rank.
// Uses the built CLI (npm run build first); Linux, root.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDownwardApiMap } from '../../src/identity/podinfo.js';
import { runNetnsJob } from '../../src/simulate/netns-job.js';
import { agentCommand, expectAllExitedZero } from '../helpers/netns-pods.js';
import { requireNetns } from './root.js';

const DIR = mkdtempSync(join(tmpdir(), 'rdv-e2e-prov-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

interface Scenario {
  /** Pod i's hostname and subdomain. */
  readonly pods: readonly { hostname: string; subdomain: string }[];
  readonly env: (i: number) => Record<string, string>;
  readonly flags: (i: number) => string[];
  readonly completionIndex?: (i: number) => string | undefined;
  /** Files of pod i: name → content, written to a directory passed as {dir}. */
  readonly files?: (i: number) => Record<string, string>;
}

const RELEASED = 'RELEASED';

async function play(name: string, provider: string, s: Scenario): Promise<void> {
  requireNetns();
  const n = s.pods.length;
  const dirs = s.pods.map((_, i) => {
    const d = join(DIR, `${name}-${i}`);
    mkdirSync(d, { recursive: true });
    for (const [f, text] of Object.entries(s.files?.(i) ?? {})) writeFileSync(join(d, f), text);
    return d;
  });
  const result = await runNetnsJob({
    n,
    prefix: 'prdvp',
    podName: (i) => s.pods[i]!,
    completionIndex: s.completionIndex,
    env: (pod) => s.env(pod.index),
    command: (pod) =>
      agentCommand(
        [
          '--timeout',
          '20s',
          '--export',
          'torch',
          '--podinfo-dir',
          dirs[pod.index]!,
          '--mpi-hostfile',
          join(dirs[pod.index]!, 'hostfile'),
          ...s.flags(pod.index),
        ],
        ['sh', '-c', `echo "${RELEASED} $PEER_INDEX/$PEER_COUNT $PEER_COORDINATOR $RANK"`],
      ),
    released: (line) => line.startsWith(RELEASED),
    capMs: 25_000,
  });
  expectAllExitedZero(result);
  const coordinator = `${s.pods[0]!.hostname}.${s.pods[0]!.subdomain}.default.svc.cluster.local`;
  for (const pod of result.pods) {
    const log = `${pod.hostname}:\n${pod.output.join('\n')}`;
    expect(pod.releasedAtMs, log).toBeGreaterThanOrEqual(result.lastPublishAtMs);
    expect(pod.output, log).toContain(`${RELEASED} ${pod.index}/${n} ${coordinator} ${pod.index}`);
    // Chosen by auto-detection from what the controller put in the pod, no --provider.
    expect(pod.output.join('\n'), log).toMatch(new RegExp(`index ${pod.index} of ${n} \\(${provider}\\)`));
  }
}

const JS = 'jobset.sigs.k8s.io/';

describe('every provider releases in network-namespace pods (FIELD.md §1-5)', () => {
  it('JobSet: driver=1x1,workers=1x2, annotations in a downward-API volume, JOB_COMPLETION_INDEX per child Job', async () => {
    const pods = [
      { hostname: 'train-driver-0-0', subdomain: 'train', rjob: 'driver', job: 0, pod: 0, g: 0 },
      { hostname: 'train-workers-0-0', subdomain: 'train', rjob: 'workers', job: 0, pod: 0, g: 1 },
      { hostname: 'train-workers-0-1', subdomain: 'train', rjob: 'workers', job: 0, pod: 1, g: 1 },
    ];
    await play('jobset', 'jobset', {
      pods,
      completionIndex: (i) => String(pods[i]!.pod),
      env: () => ({}),
      flags: () => ['--jobset-topology', 'driver=1x1,workers=1x2'],
      files: (i) => ({
        annotations: formatDownwardApiMap({
          [`${JS}jobset-name`]: 'train',
          [`${JS}replicatedjob-name`]: pods[i]!.rjob,
          [`${JS}replicatedjob-replicas`]: '1',
          [`${JS}global-replicas`]: '2',
          [`${JS}job-index`]: String(pods[i]!.job),
          [`${JS}job-global-index`]: String(pods[i]!.g),
          'batch.kubernetes.io/job-completion-index': String(pods[i]!.pod),
        }),
      }),
    });
  });

  it('StatefulSet: web-0..2 under Service nginx, pod-index label, --replicas', async () => {
    await play('sts', 'statefulset', {
      pods: [0, 1, 2].map((i) => ({ hostname: `web-${i}`, subdomain: 'nginx' })),
      completionIndex: () => undefined,
      env: () => ({}),
      flags: () => ['--replicas', '3'],
      files: (i) => ({ labels: formatDownwardApiMap({ 'apps.kubernetes.io/pod-index': String(i) }) }),
    });
  });

  it('LeaderWorkerSet: llm-0, llm-0-1, llm-0-2 from the LWS_* env alone', async () => {
    await play('lws', 'lws', {
      pods: ['llm-0', 'llm-0-1', 'llm-0-2'].map((hostname) => ({ hostname, subdomain: 'llm' })),
      completionIndex: () => undefined,
      env: (i) => ({
        LWS_LEADER_ADDRESS: 'llm-0.llm.default',
        LWS_GROUP_SIZE: '3',
        LWS_WORKER_INDEX: String(i),
      }),
      flags: () => [],
    });
  });

  it('LeaderWorkerSet with subdomainPolicy UniquePerReplica: the Service is named after the leader', async () => {
    await play('lwsu', 'lws', {
      pods: ['llm-0', 'llm-0-1', 'llm-0-2'].map((hostname) => ({ hostname, subdomain: 'llm-0' })),
      completionIndex: () => undefined,
      env: (i) => ({
        LWS_LEADER_ADDRESS: 'llm-0.llm-0.default',
        LWS_GROUP_SIZE: '3',
        LWS_WORKER_INDEX: String(i),
      }),
      flags: () => [],
    });
  });

  it('JobSet without a downward-API volume: the hostname read against --jobset-topology', async () => {
    const pods = ['train-driver-0-0', 'train-workers-0-0', 'train-workers-0-1'].map((hostname) => ({
      hostname,
      subdomain: 'train',
    }));
    await play('jobset-host', 'jobset', {
      pods,
      completionIndex: (i) => (i === 2 ? '1' : '0'),
      env: () => ({ PEER_RENDEZVOUS_JOBSET_TOPOLOGY: 'driver=1x1,workers=1x2' }),
      flags: () => [],
    });
  });

  it('Kubeflow Trainer v2: tj-node-0-<i> from PET_NNODES, PET_NODE_RANK, PET_MASTER_ADDR', async () => {
    await play('trainer', 'trainer', {
      pods: [0, 1, 2].map((i) => ({ hostname: `tj-node-0-${i}`, subdomain: 'tj' })),
      env: (i) => ({
        PET_NNODES: '3',
        PET_NODE_RANK: String(i),
        PET_MASTER_ADDR: 'tj-node-0-0.tj',
        PET_MASTER_PORT: '29500',
      }),
      flags: () => [],
    });
  });

  it('Volcano: tasks master and worker, VC_TASK_INDEX and VC_<TASK>_HOSTS', async () => {
    const pods = [
      { hostname: 'vcj-master-0', subdomain: 'vcj', task: 0 },
      { hostname: 'vcj-worker-0', subdomain: 'vcj', task: 0 },
      { hostname: 'vcj-worker-1', subdomain: 'vcj', task: 1 },
    ];
    await play('volcano', 'volcano', {
      pods,
      completionIndex: () => undefined,
      env: (i) => ({
        VC_TASK_INDEX: String(pods[i]!.task),
        VK_TASK_INDEX: String(pods[i]!.task),
        VC_MASTER_HOSTS: 'vcj-master-0.vcj',
        VC_MASTER_NUM: '1',
        VC_WORKER_HOSTS: 'vcj-worker-0.vcj,vcj-worker-1.vcj',
        VC_WORKER_NUM: '2',
      }),
      flags: () => [],
    });
  });

  it('mpi-operator v2: the launcher reads /etc/mpi/hostfile, workers know their count', async () => {
    const pods = ['pi-launcher', 'pi-worker-0', 'pi-worker-1'].map((hostname) => ({
      hostname,
      subdomain: 'pi',
    }));
    await play('mpi', 'mpi-operator', {
      pods,
      completionIndex: () => undefined,
      env: (i) => ({ K_MPI_JOB_ROLE: i === 0 ? 'launcher' : 'worker' }),
      flags: (i) => (i === 0 ? [] : ['--replicas', '2']),
      files: (i): Record<string, string> =>
        i === 0
          ? { hostfile: 'pi-worker-0.pi.default.svc slots=1\npi-worker-1.pi.default.svc slots=1\n' }
          : {},
    });
  });
});
