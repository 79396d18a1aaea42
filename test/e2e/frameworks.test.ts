// Real frameworks on what `--export` hands over, in network-namespace pods with Knot as the cluster DNS
// (records published as pods become ready, some pods late): torch env:// and torchrun (Debian's
// python3-torch, /usr/bin/python3), Open MPI's mpirun with mpi4py, MPICH Hydra with a C MPI_Allreduce built
// here with mpicc.mpich. Every assertion is on the framework's own output (ranks, world size, the reduced
// value, the hosts it ran on). No sshd: the MPI launchers get fixtures/frameworks/launcher.sh, which enters
// the named pod's namespace. Uses the built CLI (npm run build first); Linux, root; the cases run in parallel.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobPodContext, type NetnsJobResult, runNetnsJob } from '../../src/simulate/netns-job.js';
import { agentCommand, expectAllExitedZero } from '../helpers/netns-pods.js';
import { requireNetns } from './root.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/frameworks/', import.meta.url));
const LAUNCHER = join(FIXTURES, 'launcher.sh');
/** Debian's Python, the one python3-torch and python3-mpi4py are installed for (not a pyenv one on PATH). */
const PYTHON = '/usr/bin/python3';
const N = 3;
const LATE_MS = 2_000;
const CAP_MS = 150_000;
const TEST_TIMEOUT_MS = 180_000;
const SVC = 'headless-svc.default.svc.cluster.local';
const fqdn = (i: number) => `example-job-${i}.${SVC}`;

let work = '';
let mpichBinary = '';

/** Fail loudly (with the packages to install) when a framework is missing: CI installs them. */
function requireFrameworks(): void {
  const missing: string[] = [];
  const py = spawnSync(
    PYTHON,
    [
      '-c',
      'import importlib.util as u, sys; sys.exit(0 if u.find_spec("torch") and u.find_spec("mpi4py") else 3)',
    ],
    { encoding: 'utf8' },
  );
  if (py.error || py.status !== 0) missing.push('python3-torch python3-mpi4py');
  for (const [tool, pkg] of [
    ['mpirun.openmpi', 'openmpi-bin'],
    ['mpiexec.hydra', 'mpich'],
    ['mpicc.mpich', 'libmpich-dev gcc'],
  ] as const) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) missing.push(pkg);
  }
  if (missing.length > 0) {
    throw new Error(
      `the framework end-to-end tests need Debian packages: apt-get install -y ${missing.join(' ')}`,
    );
  }
}

beforeAll(() => {
  requireNetns();
  requireFrameworks();
  work = mkdtempSync(join(tmpdir(), 'prdv-frameworks-'));
  mpichBinary = join(work, 'allreduce-mpich');
  const cc = spawnSync('mpicc.mpich', ['-O1', '-o', mpichBinary, join(FIXTURES, 'allreduce.c')], {
    encoding: 'utf8',
  });
  if (cc.status !== 0) throw new Error(`mpicc.mpich failed: ${cc.stderr}${cc.error ?? ''}`);
});

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

/** The agent as the container command: `run` with these flags, then the workload. */
const agent = (flags: readonly string[], workload: readonly string[]) =>
  agentCommand(
    ['--completions', String(N), '--timeout', '90s', '--progress-interval', '0', ...flags],
    workload,
  );

// ---- torch -----------------------------------------------------------------------------------------------

interface AllReduceLine {
  rank: number;
  world: number;
  sum: number;
  localRank: string;
  groupRank: string;
  agentStore: string;
  host: string;
}

const ALLREDUCE =
  /ALLREDUCE rank=(\d+) world=(\d+) sum=(\S+) local_rank=(\S+) group_rank=(\S+) agent_store=(\S+) host=(\S+)/g;

/** The all_reduce lines the workers of one pod printed (matched anywhere: workers share the pod's stdout). */
function allReduceLines(output: readonly string[]): AllReduceLine[] {
  return output.flatMap((line) =>
    [...line.matchAll(ALLREDUCE)].map((m) => ({
      rank: Number(m[1]),
      world: Number(m[2]),
      sum: Number(m[3]),
      localRank: m[4]!,
      groupRank: m[5]!,
      agentStore: m[6]!,
      host: m[7]!,
    })),
  );
}

const lateCases = [
  ['on time', undefined],
  ['a late member', N - 1],
  ['a late coordinator', 0],
] as const;

async function torchJob(
  command: (pod: JobPodContext) => readonly string[],
  late: number | undefined,
): Promise<NetnsJobResult> {
  const result = await runNetnsJob({
    n: N,
    prefix: 'prfw',
    command,
    // A worker's first line, before it imports torch: nobody's may come before the last record exists.
    released: (line) => line.includes('WORKER_START'),
    startDelays: late === undefined ? undefined : new Map([[late, LATE_MS]]),
    capMs: CAP_MS,
  });
  expectAllExitedZero(result);
  for (const pod of result.pods) {
    expect(pod.releasedAtMs, pod.hostname).toBeDefined();
    expect(pod.releasedAtMs!).toBeGreaterThanOrEqual(result.lastPublishAtMs);
  }
  if (late !== undefined) expect(result.pods[late]!.startedAtMs).toBeGreaterThanOrEqual(LATE_MS);
  return result;
}

describe.concurrent('real frameworks on --export, in network-namespace pods with Knot', () => {
  for (const [what, late] of lateCases) {
    it(
      `torch env:// gloo all_reduce, N=${N}, ${what}`,
      async () => {
        const result = await torchJob(
          () => agent(['--export', 'torch'], [PYTHON, join(FIXTURES, 'allreduce.py')]),
          late,
        );
        for (const pod of result.pods) {
          // One process per pod: torch's rank is the pod's index, the world every pod.
          expect(allReduceLines(pod.output), pod.output.join('\n')).toEqual([
            {
              rank: pod.index,
              world: N,
              sum: (N * (N + 1)) / 2,
              localRank: '0',
              groupRank: String(pod.index),
              agentStore: '-',
              host: pod.hostname,
            },
          ]);
        }
      },
      TEST_TIMEOUT_MS,
    );
  }

  // torch 1.13 knows only the underscore flags; Debian's 1.13 on Python 3.11 crashes on the default
  // `--redirects 0` (Std.from_str returns None for 0), so the workers' output is left alone with a map
  // naming a local rank that does not exist. A 0.5 s monitor interval ends torchrun soon after its workers.
  const torchrun = [
    PYTHON,
    '-m',
    'torch.distributed.run',
    '--nproc_per_node',
    '2',
    '--redirects',
    '9:1',
    '--tee',
    '9:1',
    '--monitor_interval',
    '0.5',
    join(FIXTURES, 'allreduce.py'),
  ];
  const torchrunCases = [
    ...lateCases.map(([what, late]) => [what, late, false] as const),
    ['a late member, --elastic (c10d)', N - 1, true] as const,
  ];
  for (const [what, late, elastic] of torchrunCases) {
    it(
      `torchrun --nproc_per_node 2, world ${2 * N}, ${what}`,
      async () => {
        const flags = ['--export', 'torchrun', ...(elastic ? ['--elastic'] : [])];
        const result = await torchJob(() => agent(flags, torchrun), late);
        const world = 2 * N;
        for (const pod of result.pods) {
          const lines = allReduceLines(pod.output).sort((a, b) => a.rank - b.rank);
          // Node rank = pod index, so this pod's workers are ranks 2i and 2i+1; the static rendezvous
          // shows in torchrun's own TORCHELASTIC_USE_AGENT_STORE (True: the workers use its store).
          expect(lines, pod.output.join('\n')).toEqual(
            [0, 1].map((local) => ({
              rank: 2 * pod.index + local,
              world,
              sum: (world * (world + 1)) / 2,
              localRank: String(local),
              groupRank: String(pod.index),
              agentStore: elastic ? 'False' : 'True',
              host: pod.hostname,
            })),
          );
        }
      },
      TEST_TIMEOUT_MS,
    );
  }

  // ---- MPI ---------------------------------------------------------------------------------------------

  /**
   * An MPI job: pod 0 runs the agent with `--export mpi`, then `launch` (mpirun / mpiexec) on the exported
   * hostfile; the other pods run `worker` (the agent and an idle process, or a stand-in sshd) until pod 0's
   * launcher is done. Returns the job and the host names the launcher was asked to reach.
   */
  async function mpiJob(options: {
    readonly launch: readonly string[];
    readonly flags?: readonly string[];
    readonly worker?: (done: string) => readonly string[];
    readonly startDelays?: ReadonlyMap<number, number>;
    /** More environment for every pod. */
    readonly env?: Readonly<Record<string, string>>;
  }): Promise<{ result: NetnsJobResult; launched: string[] }> {
    const dir = mkdtempSync(join(work, 'mpi-'));
    const done = join(dir, 'done');
    const log = join(dir, 'launched.log');
    // Bounded: 900 × 0.1 s at most, then the worker ends by itself.
    const idle = [
      'sh',
      '-c',
      'i=0; while [ ! -e "$1" ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i+1)); done',
      'idle',
      done,
    ];
    const launcherPod = [
      'sh',
      '-c',
      'done=$1; shift; "$@"; rc=$?; : >"$done"; exit $rc',
      'pod0',
      done,
      ...agent(['--export', 'mpi', ...(options.flags ?? [])], options.launch),
    ];
    const result = await runNetnsJob({
      n: N,
      prefix: 'prfw',
      command: (pod) => (pod.index === 0 ? launcherPod : (options.worker?.(done) ?? agent([], idle))),
      env: () => ({
        // A fresh HOME: no ~/.mpiexec.hydra.conf or ~/.openmpi of the machine's user takes part.
        HOME: dir,
        OMPI_MCA_plm_rsh_agent: LAUNCHER,
        OMPI_ALLOW_RUN_AS_ROOT: '1',
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
        LAUNCHER_LOG: log,
        ...options.env,
      }),
      released: () => false,
      startDelays: options.startDelays,
      capMs: CAP_MS,
    });
    let launched: string[] = [];
    try {
      launched = readFileSync(log, 'utf8').trim().split('\n');
    } catch {}
    return { result, launched };
  }

  it(
    'Open MPI mpirun -np N hostname on the exported hostfile, workers as stand-in sshds (--verify tcp), late workers',
    async () => {
      const server = (done: string) => [
        process.execPath,
        '-e',
        // A TCP server on 2222 that accepts and closes, as an sshd would look to --verify tcp; gone with pod 0.
        `const s=require('net').createServer(c=>c.end()).listen(2222);const fs=require('fs');let i=0;const t=setInterval(()=>{if(fs.existsSync(${JSON.stringify(done)})||++i>900){clearInterval(t);s.close();}},100);`,
      ];
      const { result, launched } = await mpiJob({
        launch: ['mpirun.openmpi', '-np', String(N), 'hostname'],
        flags: ['--verify', 'tcp:2222'],
        worker: server,
        startDelays: new Map([
          [1, 1_000],
          [2, 1_500],
        ]),
      });
      expectAllExitedZero(result);
      const hosts = result.pods[0]!.output.filter((l) => /^example-job-\d+$/.test(l));
      expect(hosts.sort(), result.pods[0]!.output.join('\n')).toEqual(
        Array.from({ length: N }, (_, i) => `example-job-${i}`),
      );
      // OMPI_MCA_orte_keep_fqdn_hostnames: mpirun reached the workers by the names in the hostfile.
      expect(launched.sort()).toEqual([fqdn(1), fqdn(2)]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'Open MPI mpirun + mpi4py allreduce, workers running the agent, a late member',
    async () => {
      const { result, launched } = await mpiJob({
        launch: ['mpirun.openmpi', '-np', String(N), PYTHON, join(FIXTURES, 'mpi4py_allreduce.py')],
        startDelays: new Map([[N - 1, LATE_MS]]),
      });
      expectAllExitedZero(result);
      const lines = result.pods[0]!.output.filter((l) => l.startsWith('MPI4PY '));
      expect(lines.sort(), result.pods[0]!.output.join('\n')).toEqual(
        Array.from(
          { length: N },
          (_, i) => `MPI4PY rank=${i} size=${N} sum=${(N * (N + 1)) / 2} host=example-job-${i}`,
        ),
      );
      expect(launched.sort()).toEqual([fqdn(1), fqdn(2)]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'MPICH Hydra: C MPI_Allreduce on the host:N hostfile with --slots 2, a late coordinator, no user flags for the control port',
    async () => {
      const { result, launched } = await mpiJob({
        // The hostfile comes from HYDRA_HOST_FILE and `-localhost <pod 0's FQDN>` from HYDRA_CONFIG_FILE,
        // both exported: without the latter the proxies fail to resolve Hydra's short hostname.
        launch: [
          'mpiexec.hydra',
          '-launcher',
          'ssh',
          '-launcher-exec',
          LAUNCHER,
          '-n',
          String(2 * N),
          mpichBinary,
        ],
        flags: ['--slots', '2'],
        startDelays: new Map([[0, LATE_MS]]),
      });
      expectAllExitedZero(result);
      const world = 2 * N;
      const lines = result.pods[0]!.output.filter((l) => l.startsWith('MPI_ALLREDUCE '));
      const rank = (l: string) => Number(/rank=(\d+)/.exec(l)![1]);
      expect(
        lines.sort((a, b) => rank(a) - rank(b)),
        result.pods[0]!.output.join('\n'),
      ).toEqual(
        Array.from(
          { length: world },
          (_, r) =>
            `MPI_ALLREDUCE rank=${r} size=${world} sum=${(world * (world + 1)) / 2} host=example-job-${Math.floor(r / 2)}`,
        ),
      );
      // Hydra starts every proxy through the launcher, its own pod's too, by the hostfile's names.
      expect(launched.sort()).toEqual([fqdn(0), fqdn(1), fqdn(2)]);
    },
    TEST_TIMEOUT_MS,
  );

  // Why the export writes HYDRA_CONFIG_FILE: with the variable already set by the environment (kept as the
  // user's; empty = no file), Hydra falls back to gethostname() and the other pods' proxies cannot call back.
  // MPIEXEC_TIMEOUT (Hydra's own) ends the hung mpiexec.
  const hydraLaunch = (extra: string) => [
    'sh',
    '-c',
    `exec mpiexec.hydra ${extra} -launcher ssh -launcher-exec "$0" -n ${2 * N} "$1"`,
    LAUNCHER,
    mpichBinary,
  ];

  it(
    'MPICH Hydra without the exported HYDRA_CONFIG_FILE: proxies cannot resolve the short hostname',
    async () => {
      const { result } = await mpiJob({
        launch: hydraLaunch(''),
        flags: ['--slots', '2'],
        env: { HYDRA_CONFIG_FILE: '', MPIEXEC_TIMEOUT: '8' },
      });
      const launcher = result.pods[0]!;
      const text = launcher.output.join('\n');
      expect(launcher.exitCode, text).not.toBe(0);
      expect(text).toMatch(/unable to get host address for example-job-0\b/);
      expect(text).not.toMatch(/MPI_ALLREDUCE/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'MPICH Hydra with $PEER_HYDRA_ARGS on the command line instead (Intel MPI, or an own HYDRA_CONFIG_FILE)',
    async () => {
      const { result } = await mpiJob({
        launch: hydraLaunch('$PEER_HYDRA_ARGS'),
        flags: ['--slots', '2'],
        env: { HYDRA_CONFIG_FILE: '' },
      });
      expectAllExitedZero(result);
      const world = 2 * N;
      const lines = result.pods[0]!.output.filter((l) => l.startsWith('MPI_ALLREDUCE '));
      expect(lines, result.pods[0]!.output.join('\n')).toHaveLength(world);
      for (const line of lines)
        expect(line).toMatch(new RegExp(` size=${world} sum=${(world * (world + 1)) / 2} `));
    },
    TEST_TIMEOUT_MS,
  );
});
