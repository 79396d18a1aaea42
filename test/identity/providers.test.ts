// Fixture pods as each controller makes them (env, /etc/hosts, resolv.conf, downward-API files, mounted
// files; each cites the /work/shared/FIELD.md section it follows) and the exact peer list and index `explain`
// gives for them. Also the three `--peers` traps of issue 14.
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type ControllerPod, type ControllerPodSpec, controllerPod } from '../helpers/controller-pod.js';

const made: ControllerPod[] = [];
afterEach(() => {
  for (const p of made.splice(0)) p.cleanup();
});

interface Explained {
  code: number;
  stderr: string;
  stdout: string;
  doc: {
    provider: { value: string; source: string };
    index: { value: number; source: string };
    completions: { value: number; source: string };
    peers: string[];
    self: string;
    details: { label: string; value: string; source: string }[];
    warnings: string[];
    jobKey: string;
  };
}

async function explain(
  spec: ControllerPodSpec,
  env: Record<string, string>,
  flags: string[] = [],
  hostname = spec.hostname,
): Promise<Explained> {
  const pod = controllerPod(spec);
  made.push(pod);
  const r = await runCli(['explain', '--log-format', 'json', ...pod.flags, ...flags], env, {
    hostname: () => hostname,
  });
  return { ...r, doc: r.code === 0 ? JSON.parse(r.stdout) : undefined };
}

const fq = (host: string, sub: string, ns: string) => `${host}.${sub}.${ns}.svc.cluster.local.`;

// FIELD.md §1: JobSet names pods <js>-<rjob>-<jobIdx>-<podIdx>, subdomain = JobSet name, and puts
// jobset.sigs.k8s.io/* as labels and annotations on the pod template; JOB_COMPLETION_INDEX comes from the
// child Job. No env of its own.
const JS = 'jobset.sigs.k8s.io/';
function jobsetMeta(rjob: string, replicas: number, jobIndex: number, globalIndex: number, podIndex: number) {
  return {
    [`${JS}jobset-name`]: 'train',
    [`${JS}jobset-uid`]: '6a1b4c5e-0f8e-4d2b-9b1f-6f3d2c1a0e9d',
    [`${JS}replicatedjob-name`]: rjob,
    [`${JS}replicatedjob-replicas`]: String(replicas),
    [`${JS}global-replicas`]: '3',
    [`${JS}job-index`]: String(jobIndex),
    [`${JS}job-global-index`]: String(globalIndex),
    [`${JS}job-key`]: 'f4c3a1e2b9d8c7f6e5a4b3c2d1e0f9a8b7c6d5e4',
    [`${JS}restart-attempt`]: '0',
    'batch.kubernetes.io/job-completion-index': String(podIndex),
  };
}
const JOBSET_PEERS = [
  fq('train-driver-0-0', 'train', 'ml'),
  ...[0, 1].flatMap((j) => [0, 1, 2, 3].map((p) => fq(`train-workers-${j}-${p}`, 'train', 'ml'))),
];
const jobsetPod: ControllerPodSpec = {
  hostname: 'train-workers-1-2',
  subdomain: 'train',
  namespace: 'ml',
  annotations: jobsetMeta('workers', 2, 1, 2, 2),
  labels: { ...jobsetMeta('workers', 2, 1, 2, 2), 'batch.kubernetes.io/job-name': 'train-workers-1' },
};

describe('JobSet (FIELD.md §1)', () => {
  it('spans every Job of the JobSet in the documented order: annotations + --jobset-topology', async () => {
    const r = await explain(jobsetPod, { JOB_COMPLETION_INDEX: '2' }, [
      '--jobset-topology',
      'driver=1x1,workers=2x4',
    ]);
    expect(r.stderr).toBe('');
    expect(r.doc.provider.value).toBe('jobset');
    expect(r.doc.provider.source).toMatch(/auto: .*annotations jobset\.sigs\.k8s\.io\/jobset-name/);
    expect(r.doc.peers).toEqual(JOBSET_PEERS);
    expect(r.doc.index.value).toBe(1 + 1 * 4 + 2);
    expect(r.doc.completions.value).toBe(9);
    expect(r.doc.self).toBe(fq('train-workers-1-2', 'train', 'ml'));
    expect(r.doc.details).toContainEqual({
      label: 'job index',
      value: '1',
      source: expect.stringMatching(/annotations jobset\.sigs\.k8s\.io\/job-index$/),
    });
    expect(r.doc.warnings).toEqual([]);
  });

  it('reads the hostname when no downward API is mounted and the topology is given', async () => {
    const r = await explain(
      { ...jobsetPod, annotations: undefined, labels: undefined },
      { JOB_COMPLETION_INDEX: '2' },
      ['--provider', 'jobset', '--jobset-topology', 'driver=1x1,workers=2x4'],
    );
    expect(r.doc.peers).toEqual(JOBSET_PEERS);
    expect(r.doc.index.value).toBe(7);
    expect(r.doc.details.find((d) => d.label === 'replicated job')?.source).toMatch(
      /hostname\(2\) "train-workers-1-2" as <jobset>-<rjob>-<job>-<pod>/,
    );
  });

  it('says when spec.coordinator is not global rank 0', async () => {
    const annotations = { ...jobsetPod.annotations, [`${JS}coordinator`]: 'train-workers-0-0.train' };
    const r = await explain({ ...jobsetPod, annotations }, { JOB_COMPLETION_INDEX: '2' }, [
      '--jobset-topology',
      'driver=1x1,workers=2x4',
    ]);
    expect(r.doc.warnings).toEqual([
      expect.stringMatching(
        /coordinator "train-workers-0-0\.train" .* is not global rank 0 "train-driver-0-0\.train\.ml\.svc\.cluster\.local"/,
      ),
    ]);
  });

  it('sizes a one-replicated-job JobSet from --completions', async () => {
    const meta = { ...jobsetMeta('node', 2, 1, 1, 1), [`${JS}global-replicas`]: '2' };
    const r = await explain(
      { hostname: 'train-node-1-1', subdomain: 'train', namespace: 'ml', annotations: meta },
      { JOB_COMPLETION_INDEX: '1' },
      ['--completions', '4'],
    );
    expect(r.doc.peers).toEqual(
      [0, 1].flatMap((j) => [0, 1].map((p) => fq(`train-node-${j}-${p}`, 'train', 'ml'))),
    );
    expect(r.doc.index.value).toBe(3);
  });

  it('asks for the topology the pod cannot see, and rejects one that contradicts the annotations', async () => {
    const none = await explain(jobsetPod, { JOB_COMPLETION_INDEX: '2' });
    expect(none.code).toBe(78);
    expect(none.stderr).toMatch(/not the other replicated jobs; pass --jobset-topology/);
    const swapped = await explain(jobsetPod, { JOB_COMPLETION_INDEX: '2' }, [
      '--jobset-topology',
      'workers=2x4,driver=1x1',
    ]);
    expect(swapped.code).toBe(78);
    expect(swapped.stderr).toMatch(
      /job-global-index 2 from .* conflicts with the topology "workers=2x4,driver=1x1"/,
    );
  });

  it('without podinfo or topology a JobSet pod is one child Job, and explain says so', async () => {
    const r = await explain(
      { ...jobsetPod, annotations: undefined, labels: undefined },
      { JOB_COMPLETION_INDEX: '2' },
      ['--completions', '4'],
    );
    expect(r.doc.provider.value).toBe('job');
    expect(r.doc.warnings.join('\n')).toMatch(/looks like a JobSet pod .* one child Job only/);
  });
});

// FIELD.md §2: LWS injects LWS_LEADER_ADDRESS=<lws>-<g>.<subdomain>.<ns> (no .svc), LWS_GROUP_SIZE,
// LWS_WORKER_INDEX; workers are <lws>-<g>-<1..size-1>; Shared subdomain <lws>, UniquePerReplica <lws>-<g>.
describe('LeaderWorkerSet (FIELD.md §2)', () => {
  for (const [policy, sub] of [
    ['Shared', 'llm'],
    ['UniquePerReplica', 'llm-1'],
  ] as const) {
    it(`gives the group leader + workers with subdomainPolicy ${policy}, no flags`, async () => {
      const r = await explain(
        {
          hostname: 'llm-1-2',
          subdomain: sub,
          namespace: 'ml',
          // An LWS worker is a StatefulSet pod too: its pod-index label must not make a second match.
          labels: {
            'apps.kubernetes.io/pod-index': '2',
            'leaderworkerset.sigs.k8s.io/name': 'llm',
            'leaderworkerset.sigs.k8s.io/group-index': '1',
            'leaderworkerset.sigs.k8s.io/worker-index': '2',
          },
        },
        { LWS_LEADER_ADDRESS: `llm-1.${sub}.ml`, LWS_GROUP_SIZE: '4', LWS_WORKER_INDEX: '2' },
      );
      expect(r.stderr).toBe('');
      expect(r.doc.provider.value).toBe('lws');
      expect(r.doc.peers).toEqual(['llm-1', 'llm-1-1', 'llm-1-2', 'llm-1-3'].map((h) => fq(h, sub, 'ml')));
      expect(r.doc.index).toEqual({ value: 2, source: 'env LWS_WORKER_INDEX' });
      expect(r.doc.warnings.join('\n')).toMatch(
        /LWS_LEADER_ADDRESS "llm-1\..*\.ml" has no \.svc\.cluster\.local/,
      );
    });
  }
});

// FIELD.md §3: pods <sts>-<ordinal>, governing Service = subdomain, label apps.kubernetes.io/pod-index;
// replicas and .spec.ordinals.start are not visible in the pod; OrderedReady deadlocks a barrier.
describe('StatefulSet (FIELD.md §3)', () => {
  const labels = (ordinal: number) => ({
    'apps.kubernetes.io/pod-index': String(ordinal),
    'statefulset.kubernetes.io/pod-name': `web-${ordinal}`,
    'controller-revision-hash': 'web-7d4b9c8f6',
    app: 'nginx',
  });
  it('numbers pods by ordinal, replicas from the flag, and warns about OrderedReady', async () => {
    const r = await explain(
      { hostname: 'web-2', subdomain: 'nginx', namespace: 'default', labels: labels(2) },
      {},
      ['--replicas', '3'],
    );
    expect(r.doc.provider.value).toBe('statefulset');
    expect(r.doc.peers).toEqual([0, 1, 2].map((i) => fq(`web-${i}`, 'nginx', 'default')));
    expect(r.doc.index.value).toBe(2);
    expect(r.doc.warnings.join('\n')).toMatch(/OrderedReady .* set podManagementPolicy: Parallel/);
  });
  it('honours .spec.ordinals.start', async () => {
    const r = await explain(
      { hostname: 'web-3', subdomain: 'nginx', namespace: 'default', labels: labels(3) },
      {},
      ['--replicas', '3', '--ordinals-start', '1'],
    );
    expect(r.doc.peers).toEqual([1, 2, 3].map((i) => fq(`web-${i}`, 'nginx', 'default')));
    expect(r.doc.index.value).toBe(2);
  });
  it('needs the replicas', async () => {
    const r = await explain(
      { hostname: 'web-2', subdomain: 'nginx', namespace: 'default', labels: labels(2) },
      {},
    );
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/no replicas: a StatefulSet pod cannot see \.spec\.replicas; pass --replicas/);
  });
});

// FIELD.md §4: Trainer v2 torch sets PET_NNODES, PET_NODE_RANK (= completion index), PET_MASTER_ADDR =
// <tj>-node-0-0.<tj> (short), PET_MASTER_PORT=29500; JobSet underneath (its annotations are on the pod).
describe('Kubeflow Trainer v2 (FIELD.md §4)', () => {
  const trainerPod: ControllerPodSpec = {
    hostname: 'tj-node-0-1',
    subdomain: 'tj',
    namespace: 'team',
    annotations: {
      ...jobsetMeta('node', 1, 0, 0, 1),
      [`${JS}jobset-name`]: 'tj',
      [`${JS}global-replicas`]: '1',
    },
  };
  it('builds the node pods from PET_* with no flags, although JobSet annotations are there too', async () => {
    const r = await explain(trainerPod, {
      PET_NNODES: '3',
      PET_NPROC_PER_NODE: '8',
      PET_NODE_RANK: '1',
      PET_MASTER_ADDR: 'tj-node-0-0.tj',
      PET_MASTER_PORT: '29500',
      JOB_COMPLETION_INDEX: '1',
    });
    expect(r.stderr).toBe('');
    expect(r.doc.provider.value).toBe('trainer');
    expect(r.doc.peers).toEqual([0, 1, 2].map((i) => fq(`tj-node-0-${i}`, 'tj', 'team')));
    expect(r.doc.index).toEqual({ value: 1, source: 'env PET_NODE_RANK' });
    expect(r.doc.warnings.join('\n')).toMatch(/PET_MASTER_ADDR "tj-node-0-0\.tj" is a short name/);
  });
  it('reads the JAX variables the same way', async () => {
    const r = await explain(trainerPod, {
      JAX_NUM_PROCESSES: '3',
      JAX_PROCESS_ID: '1',
      JAX_COORDINATOR_ADDRESS: 'tj-node-0-0.tj:29500',
      JOB_COMPLETION_INDEX: '1',
    });
    expect(r.doc.provider.value).toBe('trainer');
    expect(r.doc.peers).toEqual([0, 1, 2].map((i) => fq(`tj-node-0-${i}`, 'tj', 'team')));
    expect(r.doc.index.value).toBe(1);
  });
});

// FIELD.md §5: Volcano env plugin VC_TASK_INDEX/VK_TASK_INDEX; svc plugin hostname <job>-<task>-<i>,
// subdomain <job>, VC_<TASK>_HOSTS (comma-separated short <host>.<job>), VC_<TASK>_NUM, /etc/volcano/<task>.host.
describe('Volcano (FIELD.md §5)', () => {
  const hosts = {
    master: 'vcj-master-0.vcj',
    worker: 'vcj-worker-0.vcj\nvcj-worker-1.vcj\nvcj-worker-2.vcj',
  };
  const peers = ['vcj-master-0', 'vcj-worker-0', 'vcj-worker-1', 'vcj-worker-2'].map((h) =>
    fq(h, 'vcj', 'default'),
  );
  const pod: ControllerPodSpec = {
    hostname: 'vcj-worker-1',
    subdomain: 'vcj',
    namespace: 'default',
    volcano: hosts,
  };
  it('orders the tasks, completes the short names, and warns about publishNotReadyAddresses', async () => {
    const r = await explain(pod, {
      VC_TASK_INDEX: '1',
      VK_TASK_INDEX: '1',
      VC_MASTER_HOSTS: 'vcj-master-0.vcj',
      VC_MASTER_NUM: '1',
      VC_WORKER_HOSTS: 'vcj-worker-0.vcj,vcj-worker-1.vcj,vcj-worker-2.vcj',
      VC_WORKER_NUM: '3',
    });
    expect(r.stderr).toBe('');
    expect(r.doc.provider.value).toBe('volcano');
    expect(r.doc.peers).toEqual(peers);
    expect(r.doc.index.value).toBe(2);
    expect(r.doc.warnings.join('\n')).toMatch(
      /publishNotReadyAddresses false unless .*--publish-not-ready-addresses/,
    );
  });
  it('reads /etc/volcano/<task>.host when the hosts env is off, in --volcano-tasks order', async () => {
    const r = await explain(pod, { VC_TASK_INDEX: '1' }, ['--volcano-tasks', 'worker,master']);
    expect(r.doc.peers).toEqual([...peers.slice(1), peers[0]]);
    expect(r.doc.index.value).toBe(1);
  });
});

// FIELD.md §4 (mpi-operator v2beta1): launcher <job>-launcher, workers <job>-worker-<i>, subdomain <job>,
// K_MPI_JOB_ROLE, /etc/mpi/hostfile with FQDNs <name>.<job>.<ns>.svc, `host slots=N` or `host:N`.
describe('mpi-operator v2 and Trainer MPI (FIELD.md §4)', () => {
  const peers = ['pi-launcher', 'pi-worker-0', 'pi-worker-1'].map((h) => fq(h, 'pi', 'default'));
  for (const [flavour, hostfile] of [
    ['Open MPI', 'pi-worker-0.pi.default.svc slots=2\npi-worker-1.pi.default.svc slots=2\n'],
    ['Intel MPI / MPICH', 'pi-worker-0.pi.default.svc:2\npi-worker-1.pi.default.svc:2\n'],
  ] as const) {
    it(`puts the launcher first, then the ${flavour} hostfile's workers`, async () => {
      const r = await explain(
        { hostname: 'pi-launcher', subdomain: 'pi', namespace: 'default', mpiHostfile: hostfile },
        { K_MPI_JOB_ROLE: 'launcher', OMPI_MCA_orte_keep_fqdn_hostnames: 'true' },
      );
      expect(r.stderr).toBe('');
      expect(r.doc.provider.value).toBe('mpi-operator');
      expect(r.doc.peers).toEqual(peers);
      expect(r.doc.index.value).toBe(0);
      expect(r.doc.warnings.join('\n')).toMatch(
        /publishNotReadyAddresses false \(true only with runLauncherAsWorker\)/,
      );
    });
  }
  it('a worker (no hostfile mounted) gets the same list from --replicas', async () => {
    const r = await explain(
      { hostname: 'pi-worker-1', subdomain: 'pi', namespace: 'default' },
      { K_MPI_JOB_ROLE: 'worker' },
      ['--replicas', '2'],
    );
    expect(r.doc.peers).toEqual(peers);
    expect(r.doc.index.value).toBe(2);
  });
  it('Trainer MPI: JobSet names, launcher <tj>-launcher-0-0, short hostfile names', async () => {
    const r = await explain(
      {
        hostname: 'tj-launcher-0-0',
        subdomain: 'tj',
        namespace: 'team',
        mpiHostfile: 'tj-node-0-0.tj slots=4\ntj-node-0-1.tj slots=4\n',
        annotations: { ...jobsetMeta('launcher', 1, 0, 0, 0), [`${JS}jobset-name`]: 'tj' },
      },
      { JOB_COMPLETION_INDEX: '0' },
    );
    expect(r.doc.provider.value).toBe('mpi-operator');
    expect(r.doc.peers).toEqual(
      ['tj-launcher-0-0', 'tj-node-0-0', 'tj-node-0-1'].map((h) => fq(h, 'tj', 'team')),
    );
    expect(r.doc.index.value).toBe(0);
    expect(r.doc.warnings).toEqual([]);
  });
});

describe('provider choice', () => {
  it('two that match is an error asking for --provider; --provider settles it', async () => {
    const spec: ControllerPodSpec = { hostname: 'llm-0', subdomain: 'llm', namespace: 'ml' };
    const env = {
      LWS_LEADER_ADDRESS: 'llm-0.llm.ml',
      LWS_GROUP_SIZE: '2',
      LWS_WORKER_INDEX: '0',
      VC_TASK_INDEX: '0',
    };
    const both = await explain(spec, env);
    expect(both.code).toBe(78);
    expect(both.stderr).toMatch(
      /matches 2 providers: lws \(env LWS_LEADER_ADDRESS.*\); volcano \(env VC_TASK_INDEX.*pass --provider/,
    );
    const chosen = await explain(spec, env, ['--provider', 'lws']);
    expect(chosen.doc.provider).toEqual({ value: 'lws', source: 'flag --provider' });
  });
  it('PEER_RENDEZVOUS_PROVIDER chooses too, and a bad value exits 64 naming it', async () => {
    const spec: ControllerPodSpec = { hostname: 'web-1', subdomain: 'nginx', namespace: 'default' };
    const r = await explain(spec, { PEER_RENDEZVOUS_PROVIDER: 'statefulset', PEER_RENDEZVOUS_REPLICAS: '2' });
    expect(r.doc.provider).toEqual({ value: 'statefulset', source: 'env PEER_RENDEZVOUS_PROVIDER' });
    expect(r.doc.completions).toEqual({ value: 2, source: 'env PEER_RENDEZVOUS_REPLICAS' });
    const bad = await explain(spec, { PEER_RENDEZVOUS_PROVIDER: 'kueue' });
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/kueue/);
  });
  it('explain text names the provider and its reason', async () => {
    const pod = controllerPod(jobsetPod);
    made.push(pod);
    const r = await runCli(
      ['explain', ...pod.flags, '--jobset-topology', 'driver=1x1,workers=2x4'],
      { JOB_COMPLETION_INDEX: '2' },
      { hostname: () => 'train-workers-1-2' },
    );
    expect(r.stdout).toMatch(/^identity \(JobSet\)\n {2}provider +jobset +auto: /);
    expect(r.stdout).toMatch(/topology +driver=1x1,workers=2x4 +flag --jobset-topology/);
    expect(r.stdout.match(/\(coordinator, self\)|\(self\)/g)).toEqual(['(self)']);
  });
});

// Issue 14's traps, tried as a new user would.
describe('--peers traps', () => {
  const list = JOBSET_PEERS.map((p) => p.replace('.ml.svc.cluster.local.', '')).join(',');
  it('in a JobSet pod the position in --peers is the index; JOB_COMPLETION_INDEX disagreeing is an error naming both', async () => {
    const conflict = await explain(jobsetPod, { JOB_COMPLETION_INDEX: '2' }, ['--peers', list]);
    expect(conflict.code).toBe(78);
    expect(conflict.stderr).toMatch(
      /index 7 from the position of .*"train-workers-1-2\.train\.ml\.svc\.cluster\.local" in flag --peers conflicts with env JOB_COMPLETION_INDEX=2/,
    );
    const settled = await explain(jobsetPod, { JOB_COMPLETION_INDEX: '2' }, [
      '--peers',
      list,
      '--index',
      '7',
    ]);
    expect(settled.doc.index).toEqual({ value: 7, source: 'flag --index' });
    expect(settled.doc.peers).toEqual(JOBSET_PEERS);
    const noJci = await explain(jobsetPod, {}, ['--peers', list]);
    expect(noJci.doc.index.value).toBe(7);
  });
  it('completes web-0.nginx the way the search list would, keeps trailing-dot names', async () => {
    const r = await explain({ hostname: 'web-1', subdomain: 'nginx', namespace: 'default' }, {}, [
      '--peers',
      'web-0.nginx,web-1.nginx.default,web-2.nginx.default.svc,db.example.org.',
    ]);
    expect(r.doc.peers).toEqual([
      fq('web-0', 'nginx', 'default'),
      fq('web-1', 'nginx', 'default'),
      fq('web-2', 'nginx', 'default'),
      'db.example.org.',
    ]);
    expect(r.doc.index.value).toBe(1);
    expect(r.doc.details).toEqual([
      {
        label: 'completed',
        value: 'web-0.nginx + .default.svc.cluster.local',
        source: expect.stringMatching(
          /like the resolv\.conf search default\.svc\.cluster\.local \(namespace from .*hosts FQDN\)/,
        ),
      },
      { label: 'completed', value: 'web-1.nginx.default + .svc.cluster.local', source: expect.any(String) },
      { label: 'completed', value: 'web-2.nginx.default.svc + .cluster.local', source: expect.any(String) },
    ]);
  });
  it('IP literals only: no DNS warning, since no name is resolved', async () => {
    const r = await explain({ hostname: 'a', namespace: 'default' }, {}, [
      '--peers',
      '10.0.0.1,10.0.0.2',
      '--index',
      '1',
    ]);
    const bare = await runCli(
      [
        'explain',
        '--log-format',
        'json',
        '--resolv-conf',
        '/dev/null',
        '--peers',
        '10.0.0.1,10.0.0.2',
        '--index',
        '1',
      ],
      {},
      { hostname: () => 'a' },
    );
    expect(r.doc.warnings).toEqual([]);
    expect(JSON.parse(bare.stdout).warnings).toEqual([]);
    const named = await runCli(
      ['explain', '--log-format', 'json', '--resolv-conf', '/dev/null', '--peers', 'a.,b.'],
      {},
      {
        hostname: () => 'a',
      },
    );
    expect(JSON.parse(named.stdout).warnings.join('\n')).toMatch(/dnsPolicy is not ClusterFirst/);
  });
  it('understands setHostnameAsFQDN: true (the hostname is the FQDN) with and without --peers', async () => {
    const spec: ControllerPodSpec = {
      hostname: 'example-job-2',
      subdomain: 'headless-svc',
      namespace: 'default',
    };
    const fqdnHost = 'example-job-2.headless-svc.default.svc.cluster.local';
    const job = await explain(spec, { JOB_COMPLETION_INDEX: '2' }, ['--completions', '3'], fqdnHost);
    expect(job.code).toBe(0);
    expect(job.doc.peers).toEqual([0, 1, 2].map((i) => fq(`example-job-${i}`, 'headless-svc', 'default')));
    expect(job.doc.index.value).toBe(2);
    const peers = await explain(
      spec,
      {},
      ['--peers', 'example-job-0.headless-svc,example-job-1.headless-svc,example-job-2.headless-svc'],
      fqdnHost,
    );
    expect(peers.doc.index.value).toBe(2);
  });
});

describe('auto-detection edge cases', () => {
  it('an Indexed Job pod with its own MPI hostfile matches two providers and asks which', async () => {
    const r = await explain(
      {
        hostname: 'example-job-1',
        subdomain: 'headless-svc',
        namespace: 'default',
        mpiHostfile: 'example-job-0.headless-svc slots=1\n',
      },
      { JOB_COMPLETION_INDEX: '1' },
      ['--completions', '2'],
    );
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(
      /matches 2 providers: mpi-operator \(MPI hostfile .*\); job \(env JOB_COMPLETION_INDEX/,
    );
  });
  it('an Indexed Job pod is still the job provider, no flags beyond --completions', async () => {
    const r = await explain(
      { hostname: 'example-job-1', subdomain: 'headless-svc', namespace: 'default' },
      { JOB_COMPLETION_INDEX: '1' },
      ['--completions', '2'],
    );
    expect(r.doc.provider).toEqual({ value: 'job', source: 'auto: env JOB_COMPLETION_INDEX (Indexed Job)' });
    expect(r.doc.warnings).toEqual([]);
  });
  it('--replicas without JOB_COMPLETION_INDEX or podinfo means a StatefulSet', async () => {
    const r = await explain({ hostname: 'web-1', subdomain: 'nginx', namespace: 'default' }, {}, [
      '--replicas',
      '2',
    ]);
    expect(r.doc.provider).toEqual({
      value: 'statefulset',
      source: 'auto: option replicas and no JOB_COMPLETION_INDEX',
    });
    expect(r.doc.peers).toEqual([0, 1].map((i) => fq(`web-${i}`, 'nginx', 'default')));
  });
  it('setHostnameAsFQDN with no FQDN line in the hosts file: subdomain and namespace come from the hostname', async () => {
    const r = await explain(
      { hostname: 'example-job-1', namespace: 'default' },
      { JOB_COMPLETION_INDEX: '1' },
      ['--completions', '2'],
      'example-job-1.headless-svc.team.svc.cluster.local',
    );
    expect(r.doc.peers).toEqual([0, 1].map((i) => fq(`example-job-${i}`, 'headless-svc', 'team')));
    expect(r.doc.warnings).toEqual([]);
  });
});

describe('a provider pod that times out', () => {
  it("prints the controller's warning first and no Indexed-Job label in the hints", async () => {
    const { ClusterDnsServer } = await import('../../src/dns/server.js');
    const { BIN } = await import('../helpers/cli.js');
    const { spawn } = await import('node:child_process');
    const dns = await ClusterDnsServer.start({ host: '127.0.0.1', port: 0, ttl: 5 });
    const pod = controllerPod({ hostname: 'web-1', subdomain: 'nginx', namespace: 'default' });
    made.push(pod);
    try {
      const child = spawn(
        process.execPath,
        [
          BIN,
          'wait',
          ...pod.flags,
          ...['--hostname', 'web-1', '--replicas', '2', '--listen', '127.41.0.2', '--port', '29677'],
          ...['--dns-server', `${dns.address.host}:${dns.address.port}`, '--timeout', '3500ms'],
          ...['--progress-interval', '0', '--termination-log', ''],
        ],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      clearTimeout(kill);
      expect(code, stderr).toBe(124);
      expect(stderr).toMatch(/warning: StatefulSet: with podManagementPolicy OrderedReady/);
      expect(stderr).toMatch(
        /no peer name resolves, this pod's own included: is there a headless Service "nginx\.default\.svc\.cluster\.local\." \(clusterIP: None\) whose name equals/,
      );
      expect(stderr).not.toMatch(/batch\.kubernetes\.io\/job-name/);
    } finally {
      await dns.close();
    }
  });
});
