// JAX, TensorFlow and DeepSpeed cannot be installed here (no Debian packages; torch, Open MPI and MPICH are
// run for real in test/e2e/frameworks.test.ts). Their exports are checked by shape: each framework's parser
// of what we hand over, re-implemented from its published source (cited per block, read 2026-12), is run
// on our output for every pod.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeExportOptions, type RawExportOptions } from '../../src/exec/export-options.js';
import { buildExports } from '../../src/exec/exports.js';
import { fakeMesh } from './mesh-fixture.js';

const DIR = '/run/rdv';
const H = (i: number) => `train-${i}.workers.default.svc.cluster.local`;

function exportsOf(index: number, count: number, raw: RawExportOptions, names?: readonly string[]) {
  return buildExports(fakeMesh(index, count, names), { env: {}, dir: DIR }, normalizeExportOptions(raw));
}

// ---- DeepSpeed -------------------------------------------------------------------------------------------
// deepspeedai/DeepSpeed deepspeed/launcher/runner.py: `-H/--hostfile` defaults to DLTS_HOSTFILE =
// "/job/hostfile"; fetch_hostfile() reads it with readlines() and _parse_hostfile():
//   pattern = r'^(\S+)\s+slots=(\d+)'
//   for line in hostfile_lines: line = line.strip(); match = re.search(pattern, line)
//     if line.startswith("#") or line == "": continue
//     elif match: host, num_slots; host already in resource_pool → ValueError("Hostfile contains multiple
//       entries for {host} …"); resource_pool[host] = num_slots   (an OrderedDict: ranks follow file order)
//     else: ValueError("Hostfile contains a bad entry: {line} …")
//   empty pool → ValueError("Hostfile is empty or not formatted correctly …")
const DLTS_HOSTFILE = '/job/hostfile';

function deepspeedParseHostfile(text: string): Map<string, number> {
  // readlines() keeps the line ends; strip() drops them and surrounding whitespace.
  const lines = text.split(/(?<=\n)/);
  const pool = new Map<string, number>();
  for (const raw of lines) {
    const line = raw.trim();
    const match = /^(\S+)\s+slots=(\d+)/.exec(line);
    if (line.startsWith('#') || line === '') continue;
    if (match) {
      const host = match[1]!;
      if (pool.has(host)) throw new Error(`Hostfile contains multiple entries for ${host}`);
      pool.set(host, Number(match[2]));
    } else {
      throw new Error(`Hostfile contains a bad entry: ${line}`);
    }
  }
  if (pool.size === 0) throw new Error('Hostfile is empty or not formatted correctly');
  return pool;
}

describe('DeepSpeed: our hostfile through runner.py _parse_hostfile', () => {
  it('the re-implemented parser keeps its rules: comments, blanks, duplicates and bad lines', () => {
    expect([...deepspeedParseHostfile('# c\n\n  a slots=2\nb slots=4 extra\n')]).toEqual([
      ['a', 2],
      ['b', 4],
    ]);
    expect(() => deepspeedParseHostfile('a slots=1\na slots=2\n')).toThrow(/multiple entries for a/);
    expect(() => deepspeedParseHostfile('a:4\n')).toThrow(/bad entry: a:4/);
    expect(() => deepspeedParseHostfile('# only a comment\n')).toThrow(/empty/);
  });

  it('reads every pod, in index order, with --slots, at DeepSpeed default path /job/hostfile', () => {
    for (const index of [0, 1, 2]) {
      const x = exportsOf(index, 3, { export: 'deepspeed', slots: '8', hostfile: DLTS_HOSTFILE });
      const file = x.files.find((f) => f.path === DLTS_HOSTFILE);
      expect(file, 'the hostfile is written where deepspeed looks without -H').toBeDefined();
      expect(x.env.PEER_HOSTFILE).toBe(DLTS_HOSTFILE);
      expect([...deepspeedParseHostfile(file!.content)]).toEqual([
        [H(0), 8],
        [H(1), 8],
        [H(2), 8],
      ]);
    }
  });

  it('parses for any job size and slot count (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 1_000_000 }), (n, slots) => {
        const x = exportsOf(n - 1, n, { export: 'deepspeed', slots: String(slots) });
        const pool = deepspeedParseHostfile(x.files.find((f) => f.path === x.env.PEER_HOSTFILE)!.content);
        expect([...pool.keys()]).toEqual(Array.from({ length: n }, (_, i) => H(i)));
        expect(new Set(pool.values())).toEqual(new Set([slots]));
      }),
      { numRuns: 60 },
    );
  });

  it('mpi and deepspeed share the one host slots=N file, which Open MPI reads too', () => {
    const x = exportsOf(1, 3, { export: 'mpi,deepspeed', slots: '2' });
    expect(x.env.PEER_HOSTFILE).toBe(x.env.OMPI_MCA_orte_default_hostfile);
    const file = x.files.find((f) => f.path === x.env.PEER_HOSTFILE)!;
    expect(deepspeedParseHostfile(file.content).size).toBe(3);
  });
});

// ---- JAX -------------------------------------------------------------------------------------------------
// jax-ml/jax jax/_src/distributed.py, State.initialize():
//   coordinator_address = (coordinator_address or os.environ.get('JAX_COORDINATOR_ADDRESS', None))
//   … num_processes / process_id come only from the arguments or cluster auto-detection (Slurm, OMPI,
//   TPU, K8s): "Number of processes must be defined." / "The process id … must be defined." otherwise;
//   newer versions check `0 <= process_id < num_processes`.
//   default_coordinator_bind_address = '[::]:' + coordinator_address.rsplit(':', 1)[1]
//   process 0 serves on the bind address; every process connects to coordinator_address (gRPC host:port,
//   IPv6 in brackets). JAX_NUM_PROCESSES / JAX_PROCESS_ID appear nowhere in jax/ (FIELD.md §8).
function jaxInitialize(
  env: Readonly<Record<string, string | undefined>>,
  args: { numProcesses?: number; processId?: number },
): { coordinator: string; bind: string; numProcesses: number; processId: number } {
  const coordinator = env.JAX_COORDINATOR_ADDRESS;
  if (coordinator === undefined) throw new Error('coordinator_address should be defined.');
  if (args.numProcesses === undefined) throw new Error('Number of processes must be defined.');
  if (args.processId === undefined) throw new Error('The process id of the current process must be defined.');
  if (!(args.processId >= 0 && args.processId < args.numProcesses))
    throw new Error('process_id and num_processes must be nonnegative, with process_id < num_processes.');
  const cut = coordinator.lastIndexOf(':');
  if (cut < 0) throw new Error(`IndexError: no port in ${coordinator}`);
  const bind = env.JAX_COORDINATOR_BIND_ADDRESS ?? `[::]:${coordinator.slice(cut + 1)}`;
  return { coordinator, bind, numProcesses: args.numProcesses, processId: args.processId };
}

describe('JAX: our exports through jax.distributed.initialize', () => {
  it('reads only JAX_COORDINATOR_ADDRESS itself: without the arguments it refuses', () => {
    const x = exportsOf(1, 3, { export: 'jax' });
    expect(() => jaxInitialize(x.env, {})).toThrow(/Number of processes must be defined/);
  });

  it('with our JAX_NUM_PROCESSES / JAX_PROCESS_ID passed as arguments (docs/exec.md), every pod agrees', () => {
    const seen = [0, 1, 2].map((i) => {
      const { env } = exportsOf(i, 3, { export: 'jax', jaxPort: '1234' });
      return jaxInitialize(env, {
        numProcesses: Number(env.JAX_NUM_PROCESSES),
        processId: Number(env.JAX_PROCESS_ID),
      });
    });
    expect(seen.map((s) => s.processId)).toEqual([0, 1, 2]);
    for (const s of seen) {
      expect(s.coordinator).toBe(`${H(0)}:1234`);
      // The coordinator binds the port the others connect to.
      expect(s.bind).toBe('[::]:1234');
      expect(s.numProcesses).toBe(3);
    }
  });

  it('an IPv6 coordinator is bracketed, so rsplit(":") still finds the port', () => {
    const { env } = exportsOf(0, 2, { export: 'jax' }, ['fd00::1', 'fd00::2']);
    const s = jaxInitialize(env, { numProcesses: 2, processId: 0 });
    expect(s.coordinator).toBe('[fd00::1]:55527');
    expect(s.bind).toBe('[::]:55527');
    expect(env.JAX_COORDINATOR_PORT).toBe('55527');
  });
});

// ---- TensorFlow ------------------------------------------------------------------------------------------
// tensorflow/tensorflow tensorflow/python/distribute/cluster_resolver/tfconfig_cluster_resolver.py:
//   _load_tf_config(): json.loads(os.environ.get('TF_CONFIG', '{}'))
//   task_type = str(tf_config['task']['type']); task_id = int(tf_config['task']['index'])
//   cluster_spec() = ClusterSpec(tf_config['cluster'])   (job name → list of "host:port")
//   master(): cluster_spec.task_address(task_type, task_id), i.e. cluster[task_type][task_id]
// MultiWorkerMirroredStrategy needs every worker to see the same cluster and its own task in it.
function tfConfigResolver(tfConfig: string | undefined): {
  cluster: Record<string, string[]>;
  taskType: string;
  taskId: number;
  address: string;
} {
  const config = JSON.parse(tfConfig ?? '{}') as {
    cluster?: Record<string, unknown>;
    task?: { type?: unknown; index?: unknown };
  };
  const cluster: Record<string, string[]> = {};
  for (const [job, tasks] of Object.entries(config.cluster ?? {})) {
    if (!Array.isArray(tasks) || !tasks.every((t) => typeof t === 'string'))
      throw new TypeError(`job ${job}: expected a list of "host:port" strings`);
    cluster[job] = tasks;
  }
  const taskType = String(config.task?.type);
  const taskId = Number.parseInt(String(config.task?.index), 10);
  const address = cluster[taskType]?.[taskId];
  if (address === undefined) throw new Error(`no task ${taskType}:${taskId} in the cluster spec`);
  return { cluster, taskType, taskId, address };
}

describe('TensorFlow: our TF_CONFIG through TFConfigClusterResolver', () => {
  it('every pod finds itself as worker i at its own host:port, in one cluster spec all agree on', () => {
    const resolved = [0, 1, 2].map((i) => tfConfigResolver(exportsOf(i, 3, { export: 'tf' }).env.TF_CONFIG));
    for (const [i, r] of resolved.entries()) {
      expect(r.taskType).toBe('worker');
      expect(r.taskId).toBe(i);
      expect(r.address).toBe(`${H(i)}:2222`);
      expect(r.cluster).toEqual(resolved[0]!.cluster);
    }
    expect(resolved[0]!.cluster).toEqual({ worker: [0, 1, 2].map((i) => `${H(i)}:2222`) });
  });

  it('holds for any job size and port (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.nat(),
        (n, port, pick) => {
          const i = pick % n;
          const r = tfConfigResolver(exportsOf(i, n, { export: 'tf', tfPort: String(port) }).env.TF_CONFIG);
          expect(r.cluster.worker).toHaveLength(n);
          expect(r.address).toBe(`${H(i)}:${port}`);
        },
      ),
      { numRuns: 60 },
    );
  });
});
