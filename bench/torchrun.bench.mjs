#!/usr/bin/env node
// torchrun behind the agent against torchrun alone, in network-namespace pods with Knot as the cluster DNS
// (Debian's python3-torch, /usr/bin/python3). N pods, each `torchrun --nproc_per_node 2` running a gloo
// all_reduce (test/e2e/fixtures/frameworks/allreduce.py); all pods start together but the last, which starts
// LATE_MS later; every record is published 0.2 s after its pod starts. Measured from the last record's
// publication: every worker started (its first line, before it imports torch, dated by the worker itself)
// and every all_reduce done. Variants, interleaved round by round so the machine's load hits each alike:
//   ours (static)  — peer-rendezvous run --export torchrun -- torchrun …  (the agreed world, static rendezvous)
//   ours --elastic — the same with --elastic (torchrun's own c10d round after ours)
//   torchrun alone — torchrun with c10d at pod 0's FQDN, started at once (imports torch while it waits)
// BENCH_TORCHRUN_PIN=1 pins pod i to CPU i mod cores (taskset), the closest this machine gets to one node
// per pod: then no pod's torch import competes with another's.
// Env: BENCH_TORCHRUN_N=3  BENCH_TORCHRUN_REPEAT=3  BENCH_CAP_S=120  BENCH_TORCHRUN_LATE_MS=3000
//      BENCH_TORCHRUN_PIN=0. Linux, root.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertNetnsAvailable } from '../dist/simulate/netns.js';
import { runNetnsJob } from '../dist/simulate/netns-job.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin', 'peer-rendezvous.js');
const SCRIPT = join(root, 'test', 'e2e', 'fixtures', 'frameworks', 'allreduce.py');
const PYTHON = '/usr/bin/python3';
const N = Number(process.env.BENCH_TORCHRUN_N ?? 3);
const REPEATS = Math.max(1, Number(process.env.BENCH_TORCHRUN_REPEAT ?? 3));
const capMs = Number(process.env.BENCH_CAP_S ?? 120) * 1000;
const LATE_MS = Number(process.env.BENCH_TORCHRUN_LATE_MS ?? 3000);
const PIN = process.env.BENCH_TORCHRUN_PIN === '1';
const CORES = os.cpus().length;
const FQDN0 = 'example-job-0.headless-svc.default.svc.cluster.local';

// torch 1.13 takes only the underscore flags; Debian's 1.13 on Python 3.11 crashes on the default
// `--redirects 0`, so a map naming a local rank that does not exist leaves the workers' output alone.
const torchrunArgs = [
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
];
const agent = (flags) => [
  process.execPath,
  BIN,
  'run',
  '--completions',
  String(N),
  '--timeout',
  `${Math.ceil(capMs / 1000)}s`,
  '--progress-interval',
  '0',
  '--export',
  'torchrun',
  ...flags,
  '--',
  PYTHON,
  ...torchrunArgs,
  SCRIPT,
];
const variants = [
  { name: 'torchrun alone (c10d)', command: () => [PYTHON, ...torchrunArgs, ...alone(), SCRIPT] },
  { name: 'ours, static hand-over (default)', command: () => agent([]) },
  { name: 'ours --elastic (c10d after ours)', command: () => agent(['--elastic']) },
];
function alone() {
  return [
    '--nnodes',
    String(N),
    '--rdzv_backend',
    'c10d',
    '--rdzv_endpoint',
    `${FQDN0}:29400`,
    '--rdzv_id',
    'bench',
  ];
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
const sec = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');

/** One run: last record → last worker started, → last all_reduce done (ms), or undefined if it failed. */
async function runOnce(variant) {
  const starts = [];
  const dones = [];
  const result = await runNetnsJob({
    n: N,
    prefix: 'prdvtrb',
    command: (pod) =>
      PIN ? ['taskset', '-c', String(pod.index % CORES), ...variant.command()] : variant.command(),
    // The pod's first worker line dates the run's clock: released = its own epoch time.
    released: (line) => {
      const m = /WORKER_START pid=\d+ at=([\d.]+)/.exec(line);
      return m ? Number(m[1]) * 1000 : false;
    },
    onLine: (index, line) => {
      if (index < 0) return;
      for (const m of line.matchAll(/WORKER_START pid=\d+ at=([\d.]+)/g)) starts.push(Number(m[1]) * 1000);
      for (const m of line.matchAll(/ALLREDUCE rank=\d+ .*? at=([\d.]+)/g)) dones.push(Number(m[1]) * 1000);
    },
    startDelays: new Map([[N - 1, LATE_MS]]),
    capMs,
  });
  const failed = result.capped || result.pods.some((p) => p.exitCode !== 0 || p.releasedAtMs === undefined);
  if (failed || starts.length !== 2 * N || dones.length !== 2 * N) {
    const bad = result.pods.find((p) => p.exitCode !== 0) ?? result.pods[0];
    process.stderr.write(`  failed run: ${bad.hostname}: ${bad.output.slice(-4).join(' | ')}\n`);
    return undefined;
  }
  // The pod's first worker start in epoch terms and on the run's time line give the run's epoch origin
  // (releasedAtMs = a pod's first worker start minus the run's epoch origin; the earliest of them is the
  // earliest worker start of all.)
  const epochAtStart = Math.min(...starts) - Math.min(...result.pods.map((p) => p.releasedAtMs));
  const last = result.lastPublishAtMs + epochAtStart;
  return {
    started: Math.max(...starts) - last,
    done: Math.max(...dones) - last,
    cpu: result.podCpuSeconds,
  };
}

try {
  assertNetnsAvailable();
  const torch = spawnSync(PYTHON, [
    '-c',
    'import importlib.util as u, sys; sys.exit(0 if u.find_spec("torch") else 3)',
  ]);
  if (torch.status !== 0) throw new Error(`${PYTHON} has no torch: apt-get install python3-torch`);
  if (!existsSync(join(root, 'dist', 'cli.cjs'))) throw new Error('build first: npm run build');
} catch (error) {
  console.error(`torchrun.bench: ${error.message}`);
  process.exit(1);
}

const results = new Map(variants.map((v) => [v.name, []]));
for (let r = 0; r < REPEATS; r++) {
  for (const variant of variants) {
    process.stderr.write(`torchrun.bench: round ${r + 1}/${REPEATS} ${variant.name} … `);
    const run = await runOnce(variant);
    if (run !== undefined) results.get(variant.name).push(run);
    process.stderr.write(
      run === undefined ? 'failed\n' : `workers started ${sec(run.started)}, all_reduce ${sec(run.done)}\n`,
    );
  }
}

const summary = variants.map((v) => {
  const runs = results.get(v.name);
  return {
    name: v.name,
    runs: runs.length,
    started: median(runs.map((x) => x.started)),
    startedMin: Math.min(...runs.map((x) => x.started)),
    startedMax: Math.max(...runs.map((x) => x.started)),
    done: median(runs.map((x) => x.done)),
    cpu: median(runs.map((x) => x.cpu)),
  };
});
const base = summary[0];
const out = [];
out.push('## torchrun: last record → workers started, ours vs torchrun alone');
out.push('');
out.push(
  `${N} network-namespace pods with Knot as the cluster DNS, each \`torchrun --nproc_per_node 2\` (torch 1.13 from Debian, ${PYTHON}) running a gloo all_reduce, world ${2 * N}. All pods start together but pod ${N - 1}, which starts ${LATE_MS / 1000} s later; each record is published 0.2 s after its pod starts. From the last record's publication: the last of the ${2 * N} workers started (its first line, before importing torch, dated by the worker) and the last all_reduce done. Median of ${REPEATS} rounds (min–max for workers started); the variants run interleaved, round by round. CPU = user+system seconds of all pods' processes in a run. ${PIN ? `Pod i pinned to CPU i mod ${CORES} (taskset): with N ≤ ${CORES} each pod has a core of its own, as on a cluster.` : `The machine has ${CORES} shared vCPUs and the pods are not pinned: after our release every pod's torchrun imports torch at the same moment on those cores (on a cluster each pod has its own), while torchrun alone imported it during the wait — this favours torchrun alone here.`}`,
);
out.push('');
out.push(
  '| variant | runs ok | last record → workers started | min–max | → all_reduce done | CPU s (pods) | started vs torchrun alone | done vs torchrun alone |',
);
out.push('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const s of summary) {
  out.push(
    `| ${s.name} | ${s.runs}/${REPEATS} | ${sec(s.started)} | ${sec(s.startedMin)}–${sec(s.startedMax)} | ${sec(s.done)} | ${s.cpu.toFixed(1)} | ${(s.started / base.started).toFixed(2)}× | ${(s.done / base.done).toFixed(2)}× |`,
  );
}
console.log(out.join('\n'));
