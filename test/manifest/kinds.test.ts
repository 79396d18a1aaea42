// `manifest --kind …` for each controller, validated against that controller's published CRD schema
// (/work/shared/crds, copied to test/manifest/crds) with unknown fields rejected, or against the Kubernetes
// schemas (kubernetes-models) for core kinds; and each sets publishNotReadyAddresses where it can.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodTemplate } from 'kubernetes-models/v1/PodTemplate';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { type ControllerPodSpec, controllerPod } from '../helpers/controller-pod.js';

type Obj = Record<string, unknown>;
type Schema = Record<string, unknown>;

const CRDS = fileURLToPath(new URL('./crds/', import.meta.url));

/**
 * The structural subset of an openAPIV3Schema the API server applies, as JSON Schema: types, required,
 * enums, bounds, and pruning turned into `additionalProperties: false` (a field the schema does not know
 * would be dropped silently by the API server: here it is an error), except under
 * x-kubernetes-preserve-unknown-fields. x-kubernetes-int-or-string becomes integer-or-string.
 */
function structural(schema: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-kubernetes-') || k === 'nullable' || k === 'format' || k === 'description') continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(v as Record<string, Schema>).map(([name, s]) => [name, structural(s)]),
      );
    } else if (k === 'items' || k === 'additionalProperties') {
      out[k] = typeof v === 'object' ? structural(v as Schema) : v;
    } else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') {
      out[k] = (v as Schema[]).map(structural);
    } else out[k] = v;
  }
  if (schema['x-kubernetes-int-or-string'] === true) out.type = ['integer', 'string'];
  if (schema.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (
    schema.properties !== undefined &&
    schema.additionalProperties === undefined &&
    schema['x-kubernetes-preserve-unknown-fields'] !== true
  )
    out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

function crdValidator(file: string, version: string) {
  const crd = parse(readFileSync(`${CRDS}${file}`, 'utf8')) as {
    spec: {
      group: string;
      names: { kind: string };
      versions: { name: string; schema: { openAPIV3Schema: Schema } }[];
    };
  };
  const v = crd.spec.versions.find((x) => x.name === version);
  if (v === undefined) throw new Error(`${file} has no version ${version}`);
  const validate = ajv.compile(structural(v.schema.openAPIV3Schema));
  return {
    apiVersion: `${crd.spec.group}/${version}`,
    kind: crd.spec.names.kind,
    /** What the API server would reject in `obj` (empty: valid). */
    errors(obj: Obj): string[] {
      const head = obj.apiVersion === `${crd.spec.group}/${version}` && obj.kind === crd.spec.names.kind;
      if (!head) return [`apiVersion/kind ${String(obj.apiVersion)}/${String(obj.kind)}`];
      if (validate(obj)) return [];
      return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
    },
    check(obj: Obj): void {
      expect(this.errors(obj)).toEqual([]);
    },
  };
}

const VALIDATORS = {
  JobSet: crdValidator('jobset.x-k8s.io_jobsets.yaml', 'v1alpha2'),
  LeaderWorkerSet: crdValidator('leaderworkerset.x-k8s.io_leaderworkersets.yaml', 'v1'),
  TrainJob: crdValidator('trainer.kubeflow.org_trainjobs.yaml', 'v1alpha1'),
  MPIJob: crdValidator('kubeflow.org_mpijobs.yaml', 'v2beta1'),
};

async function manifest(kind: string, extra: string[] = []): Promise<Obj[]> {
  const r = await runCli([
    'manifest',
    '--kind',
    kind,
    '--name',
    'train',
    '--completions',
    '4',
    '--image',
    'registry.example/train:1',
    ...extra,
    '--',
    'python',
    'train.py',
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Obj;
  });
}

const at = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);

describe('the structural validator', () => {
  it('rejects an unknown field, a wrong type and a missing required field, as the API server would', () => {
    const v = VALIDATORS.JobSet;
    const good = {
      apiVersion: v.apiVersion,
      kind: v.kind,
      metadata: { name: 'x' },
      spec: { replicatedJobs: [] },
    };
    expect(v.errors(good)).toEqual([]);
    expect(v.errors({ ...good, spec: { replicatedJob: [] } })).toEqual([
      '/spec must NOT have additional properties {"additionalProperty":"replicatedJob"}',
    ]);
    expect(v.errors({ ...good, spec: { network: { publishNotReadyAddresses: 'yes' } } })).toEqual([
      '/spec/network/publishNotReadyAddresses must be boolean {"type":"boolean"}',
    ]);
    expect(
      VALIDATORS.MPIJob.errors({
        apiVersion: VALIDATORS.MPIJob.apiVersion,
        kind: 'MPIJob',
        metadata: {},
        spec: {},
      }),
    ).toEqual([
      '/spec must have required property \'mpiReplicaSpecs\' {"missingProperty":"mpiReplicaSpecs"}',
    ]);
  });
});

describe('manifest --kind (FIELD.md §1-5)', () => {
  it('jobset: valid against the JobSet CRD, publishNotReadyAddresses true, podinfo volume, topology in env', async () => {
    const [js, ...rest] = await manifest('jobset', ['--topology', 'driver=1x1,workers=2x4']);
    expect(rest).toEqual([]);
    VALIDATORS.JobSet.check(js!);
    expect(at(js, 'spec.network.publishNotReadyAddresses')).toBe(true);
    const rjobs = at(js, 'spec.replicatedJobs') as Obj[];
    expect(rjobs.map((r) => [r.name, r.replicas, at(r, 'template.spec.completions')])).toEqual([
      ['driver', 1, 1],
      ['workers', 2, 4],
    ]);
    const c = (at(rjobs[1], 'template.spec.template.spec.containers') as Obj[])[0]!;
    expect(c.env).toContainEqual({
      name: 'PEER_RENDEZVOUS_JOBSET_TOPOLOGY',
      value: 'driver=1x1,workers=2x4',
    });
    expect(c.volumeMounts).toContainEqual({ name: 'podinfo', mountPath: '/etc/podinfo', readOnly: true });
  });

  it('lws: valid against the LeaderWorkerSet CRD (LWS publishes not-ready addresses itself)', async () => {
    const [lws] = await manifest('lws');
    VALIDATORS.LeaderWorkerSet.check(lws!);
    expect(at(lws, 'spec.leaderWorkerTemplate.size')).toBe(4);
  });

  it('trainjob: valid against the TrainJob CRD', async () => {
    const [tj] = await manifest('trainjob');
    VALIDATORS.TrainJob.check(tj!);
    expect(at(tj, 'spec.trainer.numNodes')).toBe(4);
    expect((at(tj, 'spec.trainer.command') as string[]).slice(0, 2)).toEqual(['peer-rendezvous', '--']);
  });

  it('mpijob: valid against the MPIJob CRD; workers run sshd behind the agent and know their count', async () => {
    const [mj] = await manifest('mpijob');
    VALIDATORS.MPIJob.check(mj!);
    const worker = (at(mj, 'spec.mpiReplicaSpecs.Worker.template.spec.containers') as Obj[])[0]!;
    expect(worker.command).toEqual(['peer-rendezvous', '--', '/usr/sbin/sshd', '-De']);
    expect(worker.env).toContainEqual({ name: 'PEER_RENDEZVOUS_REPLICAS', value: '4' });
  });

  it('statefulset: a Service with publishNotReadyAddresses and a Parallel StatefulSet, valid Kubernetes objects', async () => {
    const [svc, sts] = await manifest('statefulset');
    new Service(svc as never).validate();
    new StatefulSet(sts as never).validate();
    expect(at(svc, 'spec.publishNotReadyAddresses')).toBe(true);
    expect(at(sts, 'spec.podManagementPolicy')).toBe('Parallel');
    expect(at(sts, 'spec.serviceName')).toBe(at(svc, 'metadata.name'));
    expect(at(sts, 'spec.selector.matchLabels')).toEqual(at(svc, 'spec.selector'));
  });

  it('vcjob: the fields FIELD.md §5 names (no CRD published on npm), a valid pod template, svc --publish-not-ready-addresses', async () => {
    const [vj] = await manifest('vcjob');
    expect(vj!.apiVersion).toBe('batch.volcano.sh/v1alpha1');
    expect(vj!.kind).toBe('Job');
    expect(at(vj, 'spec.plugins')).toEqual({ env: [], svc: ['--publish-not-ready-addresses'] });
    const task = (at(vj, 'spec.tasks') as Obj[])[0]!;
    expect(task.replicas).toBe(4);
    new PodTemplate({ metadata: { name: 'x' }, template: task.template } as never).validate();
  });

  it('--token-secret mounts the Secret as a file in every agent container, still valid; trainjob refuses it', async () => {
    const containersOf = (o: unknown): Obj[] => {
      const out: Obj[] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v !== null && typeof v === 'object') {
          for (const [k, x] of Object.entries(v)) {
            if (k === 'containers') out.push(...(x as Obj[]));
            else walk(x);
          }
        }
      };
      walk(o);
      return out;
    };
    const checks: [string, (o: Obj) => void][] = [
      ['jobset', (o) => VALIDATORS.JobSet.check(o)],
      ['lws', (o) => VALIDATORS.LeaderWorkerSet.check(o)],
      ['mpijob', (o) => VALIDATORS.MPIJob.check(o)],
      ['statefulset', (o) => (o.kind === 'StatefulSet' ? new StatefulSet(o as never).validate() : undefined)],
      ['vcjob', () => {}],
    ];
    for (const [kind, validate] of checks) {
      const objs = await manifest(kind, ['--token-secret', 'rdv-token']);
      for (const o of objs) validate(o);
      const containers = objs.flatMap(containersOf);
      expect(containers.length, kind).toBeGreaterThan(0);
      for (const c of containers) {
        expect(c.env, kind).toContainEqual({
          name: 'PEER_RENDEZVOUS_TOKEN_FILE',
          value: '/var/run/secrets/peer-rendezvous/token',
        });
        expect(c.volumeMounts, kind).toContainEqual({
          name: 'peer-rendezvous-token',
          mountPath: '/var/run/secrets/peer-rendezvous',
          readOnly: true,
        });
        expect(JSON.stringify(c.env), kind).not.toContain('secretKeyRef');
      }
    }
    const tj = await runCli([
      ...['manifest', '--kind', 'trainjob', '--name', 'a', '--completions', '2', '--image', 'i'],
      ...['--token-secret', 's', '--', 'x'],
    ]);
    expect(tj.code).toBe(64);
    expect(tj.stderr).toMatch(/--kind trainjob cannot take --token-secret/);
  });

  it('--kind with another mode is a usage error (exit 64)', async () => {
    const r = await runCli([
      'manifest',
      '--kind',
      'lws',
      '--mode',
      'copy-in',
      '--name',
      'a',
      '--completions',
      '2',
      '--image',
      'i',
      '--',
      'x',
    ]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/--kind lws supports --mode wrapper only/);
  });
});

/** The literal env of a generated container, as the kubelet would set it. */
function envOf(container: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of container.env as { name: string; value?: string }[])
    if (e.value !== undefined) out[e.name] = e.value;
  return out;
}

/** `explain` in a fixture pod of that controller, with only the env the manifest gives plus the controller's. */
async function explainIn(
  spec: ControllerPodSpec,
  env: Record<string, string>,
): Promise<{ peers: string[]; index: { value: number } }> {
  const pod = controllerPod(spec);
  try {
    const r = await runCli(['explain', '--log-format', 'json', ...pod.flags], env, {
      hostname: () => spec.hostname,
    });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout);
  } finally {
    pod.cleanup();
  }
}

describe('what a generated manifest gives a pod is enough for its provider', () => {
  it('jobset: the topology env + the annotations the podinfo volume mounts', async () => {
    const [js] = await manifest('jobset', ['--topology', 'driver=1x1,workers=2x4']);
    const rjobs = at(js, 'spec.replicatedJobs') as Obj[];
    const c = (at(rjobs[1], 'template.spec.template.spec.containers') as Obj[])[0]!;
    const K = 'jobset.sigs.k8s.io/';
    const id = await explainIn(
      {
        hostname: 'train-workers-1-3',
        subdomain: 'train',
        namespace: 'ml',
        annotations: {
          [`${K}jobset-name`]: 'train',
          [`${K}replicatedjob-name`]: 'workers',
          [`${K}replicatedjob-replicas`]: '2',
          [`${K}job-index`]: '1',
          [`${K}job-global-index`]: '2',
          [`${K}global-replicas`]: '3',
        },
      },
      { ...envOf(c), JOB_COMPLETION_INDEX: '3' },
    );
    expect(id.peers).toHaveLength(9);
    expect(id.index.value).toBe(8);
  });
  it('statefulset: PEER_RENDEZVOUS_REPLICAS and the ordinal in the hostname', async () => {
    const [, sts] = await manifest('statefulset');
    const c = (at(sts, 'spec.template.spec.containers') as Obj[])[0]!;
    const id = await explainIn({ hostname: 'train-3', subdomain: 'train', namespace: 'default' }, envOf(c));
    expect(id.peers).toEqual([0, 1, 2, 3].map((i) => `train-${i}.train.default.svc.cluster.local.`));
    expect(id.index.value).toBe(3);
  });
  it('mpijob: a worker knows the launcher and its peers from PEER_RENDEZVOUS_REPLICAS', async () => {
    const [mj] = await manifest('mpijob');
    const c = (at(mj, 'spec.mpiReplicaSpecs.Worker.template.spec.containers') as Obj[])[0]!;
    const id = await explainIn(
      { hostname: 'train-worker-2', subdomain: 'train', namespace: 'default' },
      { ...envOf(c), K_MPI_JOB_ROLE: 'worker' },
    );
    expect(id.peers[0]).toBe('train-launcher.train.default.svc.cluster.local.');
    expect(id.peers).toHaveLength(5);
    expect(id.index.value).toBe(3);
  });
});

// examples/controllers/: what `manifest --kind` prints for a small torchrun job under each controller, checked
// against the generator (UPDATE_EXAMPLES=1 rewrites them) and against the schemas above.
const CONTROLLER_EXAMPLES = fileURLToPath(new URL('../../examples/controllers/', import.meta.url));
const TORCHRUN = ['torchrun', '--nproc-per-node=1', '/app/train.py'];
const EXAMPLE_ARGV: Record<string, string[]> = {
  'jobset.yaml': ['--kind', 'jobset', '--name', 'train', '--completions', '3', '--topology', 'node=1x3'],
  'lws.yaml': ['--kind', 'lws', '--name', 'train', '--completions', '3'],
  'statefulset.yaml': ['--kind', 'statefulset', '--name', 'train', '--completions', '3'],
  'mpijob.yaml': ['--kind', 'mpijob', '--name', 'train', '--completions', '2'],
  'trainjob.yaml': ['--kind', 'trainjob', '--name', 'train', '--completions', '3'],
  'vcjob.yaml': ['--kind', 'vcjob', '--name', 'train', '--completions', '3'],
};

describe('examples/controllers/', () => {
  it('has one example per controller kind', () => {
    expect(
      readdirSync(CONTROLLER_EXAMPLES)
        .filter((f) => f.endsWith('.yaml'))
        .sort(),
    ).toEqual(Object.keys(EXAMPLE_ARGV).sort());
  });
  for (const [file, argv] of Object.entries(EXAMPLE_ARGV)) {
    it(`${file} is what manifest writes, and valid`, async () => {
      const command = file === 'mpijob.yaml' ? ['mpirun', '-np', '2', 'python', '/app/train.py'] : TORCHRUN;
      const r = await runCli([
        'manifest',
        ...argv,
        ...[
          '--image',
          'registry.example/train-with-peer-rendezvous:1',
          '--export',
          file === 'mpijob.yaml' ? 'mpi' : 'torchrun',
        ],
        '--',
        ...command,
      ]);
      expect(r.stderr).toBe('');
      const path = `${CONTROLLER_EXAMPLES}${file}`;
      if (process.env.UPDATE_EXAMPLES === '1') writeFileSync(path, r.stdout);
      const text = readFileSync(path, 'utf8');
      expect(text).toBe(r.stdout);
      for (const doc of parseAllDocuments(text)) {
        const o = doc.toJS() as Obj;
        const v = VALIDATORS[o.kind as keyof typeof VALIDATORS];
        if (v !== undefined) v.check(o);
        else if (o.kind === 'StatefulSet') new StatefulSet(o as never).validate();
        else if (o.kind === 'Service') new Service(o as never).validate();
        else expect(o.apiVersion).toBe('batch.volcano.sh/v1alpha1');
      }
    });
  }
});
