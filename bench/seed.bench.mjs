#!/usr/bin/env node
// Benchmark against the seed: the seed's bash+ping loop and peer-rendezvous in network-namespace pods with
// Knot as the cluster DNS. All pods but the last start together, the last 3 s later, every record is published
// 0.2 s after its pod starts. Per pod: release latency after the last record was published (seed: when its
// loop ends; peer-rendezvous: when its workload starts), DNS queries, CPU seconds. Linux, root.
// Each cell runs BENCH_SEED_REPEAT times, the late pod starting 3 s + r/REPEAT s later in run r: the seed's
// pods retry in lockstep once a second, so one run's seed latency is wherever the publication falls in that
// 1 s phase (anything from 0 to 1 s); spreading the late start over the period measures the loop, not the luck.
// Latencies of all runs are pooled (median, max); queries and CPU are per run (mean). Each pod dates its own
// release ($EPOCHREALTIME printed by bash): reading 64 pipes at once must not delay the figure.
// Env: BENCH_SEED_N=3,16,32,64  BENCH_CAP_S=60  BENCH_VARIANTS=seed,star,mesh,late-coordinator
//      BENCH_SEED_REPEAT=3  BENCH_BIN=<another build's bin/peer-rendezvous.js> (compare builds in one run)
// Second section, through a caching resolver (issue 11): unbound capped at BENCH_CACHE_S in front of Knot
// (record TTL, SOA TTL and SOA MINIMUM = the cap, as kubeadm's `ttl 30` + `cache 30`), three record timings:
// `present` (the record exists when the agent starts: publishNotReadyAddresses), `present-1` (the same with pod
// 1 the late one instead of the last: the seed's walk asks it first, as a cluster's fast walk asks any late
// name; here 64 walks on 2 cores reach the last name after its record exists), `late` (1 s after) and
// `restart-0` (records present, the coordinator replaced 1.2 s in, a stranger on its old address).
// Env: BENCH_CACHE_S=30 (0: skip)  BENCH_CACHE_N=4,16,64  BENCH_CACHE_VARIANTS=seed,star,mesh,late-coordinator
//      (late-coordinator: pod 0 is the late one)  BENCH_CACHE_TIMINGS=present,present-1,late,restart-0
//      BENCH_CACHE_REPEAT=1
//      BENCH_CACHE_EXTRA='star-ip=--verify star --peer-address ip;mesh-ip=--verify mesh --peer-address ip'
//        (more agent variants: name=agent arguments, `;` between them; default: star-ip when the agent
//        has --peer-address)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertNetnsAvailable } from '../dist/simulate/netns.js';
import { runNetnsJob } from '../dist/simulate/netns-job.js';
import { seedScript } from '../dist/simulate/seed-script.js';
import { strangerCommand } from '../dist/simulate/stranger.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sizes = (process.env.BENCH_SEED_N ?? '3,16,32,64').split(',').map(Number);
const capMs = Number(process.env.BENCH_CAP_S ?? 60) * 1000;
const LATE_MS = 3_000;
const REPEATS = Math.max(1, Number(process.env.BENCH_SEED_REPEAT ?? 3));
const PUBLISH_MS = 200;
const RELEASED = 'PEER_RENDEZVOUS_BENCH_RELEASED';
// BENCH_BIN: another build's bin (e.g. an older checkout's) run by this harness, to compare builds in one run.
const BIN = process.env.BENCH_BIN ?? join(root, 'bin', 'peer-rendezvous.js');

/** The variants, each a way to run one pod; `late` is the index that starts 3 s after the others. */
const variants = [
  {
    name: 'seed',
    label: 'seed bash+ping loop',
    late: (n) => n - 1,
    // The loop as the seed has it, then the moment it ended, from the same bash (no fork).
    command: (n) => () => ['bash', '-c', `${seedScript(n)}\necho "${RELEASED} $EPOCHREALTIME"`],
    released: () => releasedAt,
  },
  ...['star', 'mesh'].map((verify) => ({
    name: verify,
    label: `peer-rendezvous --verify ${verify}`,
    late: (n) => n - 1,
    command: agent(verify),
    released: () => releasedAt,
  })),
  {
    name: 'late-coordinator',
    label: 'peer-rendezvous star, pod 0 late',
    late: () => 0,
    command: agent('star'),
    released: () => releasedAt,
  },
].filter((v) =>
  (process.env.BENCH_VARIANTS ?? 'seed,star,mesh,late-coordinator').split(',').includes(v.name),
);

/** peer-rendezvous as the container entrypoint, its workload (bash) printing the release marker and time. */
function agent(verify) {
  return agentWith(['--verify', verify]);
}

/** The same with any agent arguments (`--verify mesh --peer-address ip` …). */
function agentWith(args) {
  return (n) => () => [
    process.execPath,
    BIN,
    'run',
    '--completions',
    String(n),
    ...args,
    '--timeout',
    `${Math.ceil(capMs / 1000)}s`,
    '--progress-interval',
    '0',
    '--',
    'bash',
    '-c',
    `echo "${RELEASED} $EPOCHREALTIME"`,
  ];
}

/**
 * The release marker and the wall-clock time the pod wrote in it (bash's $EPOCHREALTIME, seconds with
 * microseconds): the pod dates its own release, so the bench process reading 64 pipes at once adds nothing.
 */
function releasedAt(line) {
  if (!line.startsWith(RELEASED)) return false;
  const m = /^PEER_RENDEZVOUS_BENCH_RELEASED (\d+)[.,](\d+)$/.exec(line);
  // Without $EPOCHREALTIME (bash < 5) the line has no time: then the moment it is read.
  return m ? Number(m[1]) * 1000 + Number(`0.${m[2]}`) * 1000 : true;
}

const agentAvailable = existsSync(join(root, 'dist', 'cli', 'commands', 'run.js'));

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const fmt = (ms) =>
  Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : `> ${(capMs / 1000).toFixed(0)} s`;

async function runOnce(variant, n, lateMs, world = {}) {
  // A world may say which pod is the late one (the cache section's `present-1`: pod 1, for every variant).
  const late = world.late?.(n) ?? variant.late(n);
  const result = await runNetnsJob({
    n,
    command: variant.command(n),
    released: variant.released(n),
    startDelays: new Map([[late, lateMs]]),
    publishDelayMs: world.publishDelayMs ?? PUBLISH_MS,
    capMs,
    prefix: 'prdvbench',
    ...(world.restart ? { restart: world.restart } : {}),
    ...(world.cacheSeconds === undefined
      ? {}
      : { dnsCache: { seconds: world.cacheSeconds, logReplies: true } }),
  });
  // Unreleased pods count as never released (+∞): the median says "> cap" when more than half never were.
  const latencies = result.pods.map((p) =>
    p.releasedAtMs === undefined
      ? Number.POSITIVE_INFINITY
      : Math.max(0, p.releasedAtMs - result.lastPublishAtMs),
  );
  const done = result.pods.filter((p) => p.releasedAtMs !== undefined).length;
  // From the last pod's start instead (with the record present before it starts, the wait is Node start-up).
  const lastStart = Math.max(...result.pods.map((p) => p.startedAtMs));
  const afterStart = result.pods.map((p) =>
    p.releasedAtMs === undefined ? Number.POSITIVE_INFINITY : Math.max(0, p.releasedAtMs - lastStart),
  );
  // The agent's first line ("index i of N …") comes once Node has started and the identity is known.
  const latePod = result.pods[late];
  const startup =
    variant.name === 'seed' || latePod?.firstLineAtMs === undefined
      ? undefined
      : latePod.firstLineAtMs - latePod.startedAtMs;
  const failed = result.pods.filter((p) => p.exitCode !== null && p.exitCode !== 0).length;
  // Pods whose output says a denial is cached (the agent naming the cache, issue 11 point 2).
  const names = (p) => p.output.some((l) => /cached|SOA MINIMUM/i.test(l));
  const namingCache = result.pods.filter(names).length;
  // Pods the cache told NXDOMAIN for an address question (A, AAAA, SRV; not the existence probe's private
  // types, whose denials answer no other type): the ones that owe the naming.
  const deniedAt = new Set(
    (result.cacheReplies ?? [])
      .filter((r) => r.rcode === 'NXDOMAIN' && /^(A|AAAA|SRV)$/.test(r.type))
      .map((r) => r.client),
  );
  const denied = result.pods.filter((p) => deniedAt.has(p.address));
  return {
    latencies,
    afterStart,
    done,
    failed,
    namingCache,
    deniedPods: denied.length,
    namingDenied: denied.filter(names).length,
    cacheQueries: result.cache?.queries ?? 0,
    queries: result.queries,
    startup,
    cpu: result.podCpuSeconds,
    dnsCpu: result.dnsCpuSeconds,
    sample: result.pods.find((p) => p.exitCode !== 0)?.output.slice(-5) ?? [],
  };
}

/** REPEATS runs of one cell, the late start spread over one second; latencies pooled, the rest averaged. */
async function runVariant(variant, n, world = {}, repeats = REPEATS) {
  const runs = [];
  for (let r = 0; r < repeats; r++) runs.push(await runOnce(variant, n, lateMs(r, repeats), world));
  return summarize(variant, n, runs, repeats);
}

/** Run r of `repeats`: the late pod starts LATE_MS + r/repeats s after the others. */
function lateMs(r, repeats) {
  return LATE_MS + Math.round((r * 1000) / repeats);
}

/**
 * Every variant at one N, run r of each before run r+1 of any (seed, star, mesh, seed, star, …): the shared
 * machine's speed drifts over minutes, and the ratios to the seed must compare runs made side by side.
 */
async function runInterleaved(variants, n, repeats = REPEATS) {
  const runs = new Map(variants.map((v) => [v, []]));
  for (let r = 0; r < repeats; r++)
    for (const v of variants) runs.get(v).push(await runOnce(v, n, lateMs(r, repeats), {}));
  return variants.map((v) => summarize(v, n, runs.get(v), repeats));
}

/** One cell's runs: latencies pooled, the rest averaged. */
function summarize(variant, n, runs, repeats) {
  const latencies = runs.flatMap((r) => r.latencies);
  const mean = (key) => runs.reduce((sum, r) => sum + r[key], 0) / runs.length;
  const startups = runs.map((r) => r.startup).filter((x) => x !== undefined);
  return {
    n,
    variant,
    done: runs.reduce((sum, r) => sum + r.done, 0),
    failed: runs.reduce((sum, r) => sum + r.failed, 0),
    median: median(latencies),
    medianAfterStart: median(runs.flatMap((r) => r.afterStart)),
    max: Math.max(...latencies),
    queries: Math.round(mean('queries')),
    cacheQueries: Math.round(mean('cacheQueries')),
    namingCache: runs.reduce((sum, r) => sum + r.namingCache, 0),
    deniedPods: runs.reduce((sum, r) => sum + (r.deniedPods ?? 0), 0),
    namingDenied: runs.reduce((sum, r) => sum + (r.namingDenied ?? 0), 0),
    runs: repeats,
    startup: startups.length > 0 ? median(startups) : undefined,
    cpu: mean('cpu'),
    dnsCpu: mean('dnsCpu'),
    sample: runs.find((r) => r.failed > 0)?.sample ?? [],
  };
}

function ratio(value, baseline) {
  if (!Number.isFinite(baseline) && Number.isFinite(value)) return '≪ 1 (seed never finished)';
  if (!Number.isFinite(value)) return 'n/a';
  if (baseline === 0) return 'n/a';
  return `${(value / baseline).toFixed(3)}`;
}

try {
  assertNetnsAvailable();
} catch (error) {
  console.error(`seed.bench: ${error.message}`);
  process.exit(1);
}

const load0 = os.loadavg()[0];
const started = new Date().toISOString();
const rows = [];
for (const n of sizes.filter((x) => x > 0)) {
  const here = variants.filter((v) => v.name === 'seed' || agentAvailable);
  process.stderr.write(
    `seed.bench: N=${n} ${here.map((v) => v.name).join(', ')} interleaved, ${REPEATS} runs each …\n`,
  );
  for (const row of await runInterleaved(here, n)) {
    process.stderr.write(
      `seed.bench: N=${n} ${row.variant.name}: ${row.done}/${n * REPEATS} released, median ${fmt(row.median)}, max ${fmt(row.max)}, ${row.queries} queries\n`,
    );
    if (row.failed > 0)
      process.stderr.write(`  ${row.failed} pods failed; last lines: ${row.sample.join(' | ')}\n`);
    rows.push(row);
  }
}

const out = [];
out.push('## Release latency vs the seed loop (network-namespace pods, Knot DNS)');
out.push('');
out.push(
  `N pods in network namespaces on a bridge (own hostname, kubelet-style /etc/hosts and resolv.conf with ndots:5), Knot ${''}as the cluster DNS on port 53 in the hub namespace. All pods but the late one start together, the late one ${LATE_MS / 1000} s later (plus r/${REPEATS} s in run r of ${REPEATS}: the seed's pods retry in lockstep once a second, so a single run measures where the publication falls in that phase); each record is published ${PUBLISH_MS / 1000} s after its pod starts. Latency = time from the last record's publication to a pod's release (seed: its loop ends; peer-rendezvous: its workload, a bash, starts), dated by the pod itself (bash's $EPOCHREALTIME in the line it prints), not by when the bench process read that line. The variants' runs are interleaved (run r of every variant before run r+1 of any), so each ratio to the seed compares runs made side by side on this shared machine. Latencies of the ${REPEATS} runs are pooled for the median and max. Runs capped at ${capMs / 1000} s; pods not released count as never (median "> cap" when more than half did not finish). Queries = all queries Knot answered during a run, CPU = user+system seconds of the pods' processes in a run (both the mean of the runs). Late pod start-up = from its process start to the agent's first log line (Node start-up and identity discovery; the record appears ${PUBLISH_MS / 1000} s after the start).`,
);
out.push('');
out.push(
  '| N | variant | released within cap | median | max | DNS queries | CPU s (pods) | CPU s (DNS) | late pod start-up | median vs seed | queries vs seed |',
);
out.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
out.splice(
  out.length - 2,
  0,
  `Started ${started}, load average ${load0.toFixed(2)} on ${os.cpus().length} cores (the machine is shared: other work inflates the times).`,
  '',
);
for (const row of rows) {
  const seed = rows.find((r) => r.n === row.n && r.variant.name === 'seed');
  const isSeed = row.variant.name === 'seed';
  out.push(
    `| ${row.n} | ${row.variant.label} | ${row.done} of ${row.n * REPEATS} | ${fmt(row.median)} | ${fmt(row.max)} | ${row.queries.toLocaleString('en-US')} | ${row.cpu.toFixed(2)} | ${row.dnsCpu.toFixed(2)} | ${row.startup === undefined ? '—' : fmt(row.startup)} | ${isSeed || !seed ? '—' : ratio(row.median, seed.median)} | ${isSeed || !seed ? '—' : ratio(row.queries, seed.queries)} |`,
  );
}
if (!agentAvailable) {
  out.push('');
  out.push('peer-rendezvous rows missing: dist/cli/commands/run.js is not built yet (the `run` command).');
}
const agentRows = rows.filter((r) => r.variant.name !== 'seed');
if (agentRows.length > 0) {
  out.push('');
  out.push(
    'Goals (issue 6): median ≤ 1/10 of the seed at every N; DNS queries ≤ 1/10 of the seed; all 64 pods released within 5 s of the last record.',
  );
  out.push('');
  for (const row of agentRows) {
    const seed = rows.find((r) => r.n === row.n && r.variant.name === 'seed');
    if (!seed) continue;
    const medianOk =
      row.done === row.n * REPEATS && (!Number.isFinite(seed.median) || row.median <= seed.median / 10);
    const queriesOk = row.queries <= seed.queries / 10;
    const within5 = row.n !== 64 || row.max <= 5_000;
    out.push(
      `- N=${row.n} ${row.variant.name}: median ${medianOk ? 'met' : 'NOT met'}, queries ${queriesOk ? 'met' : 'NOT met'}${row.n === 64 ? `, all 64 within 5 s ${within5 ? 'met' : 'NOT met'}` : ''}`,
    );
  }
}

// BENCH_SEED_N=0: the cache section alone.
if (rows.length === 0) out.length = 0;

// Through a caching resolver (issue 11).
const cacheS = Number(process.env.BENCH_CACHE_S ?? 30);
if (cacheS > 0) {
  const cacheLoad = os.loadavg()[0];
  const cacheStarted = new Date().toISOString();
  const cacheSizes = (process.env.BENCH_CACHE_N ?? '4,16,64').split(',').map(Number);
  const cacheRepeats = Math.max(1, Number(process.env.BENCH_CACHE_REPEAT ?? 1));
  const wanted = (process.env.BENCH_CACHE_VARIANTS ?? 'seed,star,mesh,late-coordinator').split(',');
  // Once the agent has `--peer-address` (issue 11 point 3), its `ip` variant runs by default.
  const help = agentAvailable
    ? spawnSync(process.execPath, [BIN, 'run', '--help'], { encoding: 'utf8', timeout: 20_000 }).stdout
    : '';
  const defaultExtra = /--peer-address/.test(help ?? '') ? 'star-ip=--verify star --peer-address ip' : '';
  const extra = (process.env.BENCH_CACHE_EXTRA ?? defaultExtra)
    .split(';')
    .map((x) => x.trim())
    .filter((x) => x !== '')
    .map((x) => {
      const eq = x.indexOf('=');
      const name = x.slice(0, eq).trim();
      const args = x
        .slice(eq + 1)
        .trim()
        .split(/\s+/);
      return {
        name,
        label: `peer-rendezvous ${args.join(' ')}`,
        late: (n) => n - 1,
        command: agentWith(args),
        released: () => releasedAt,
      };
    });
  const cacheVariants = [...variants.filter((v) => wanted.includes(v.name)), ...extra];
  const timings = {
    present: { publishDelayMs: -1, label: 'record present when the agent starts (publishNotReadyAddresses)' },
    // The same, pod 1 the late one: every seed pod's walk asks its name at its second step, before that record
    // exists, however slowly the walk runs here (see the prose below).
    'present-1': { publishDelayMs: -1, late: () => 1, label: 'record present, pod 1 the late one' },
    late: { publishDelayMs: 1_000, label: 'record 1 s after the agent starts' },
    // The field's restart: records present, pod 0 (the coordinator) replaced 1.2 s in on a new address, its old
    // record served 10 s more (and by the cache for its TTL), the old address given to a stranger that accepts
    // on the agent's port and never answers (UDP: echoes).
    'restart-0': {
      publishDelayMs: -1,
      restart: { index: 0, atMs: 1_200, staleMs: 10_000, stranger: strangerCommand(29600) },
      label: 'coordinator restarted, a stranger on its old address',
    },
  };
  const timingNames = (process.env.BENCH_CACHE_TIMINGS ?? 'present,present-1,late,restart-0')
    .split(',')
    .filter((t) => t in timings);
  const cacheRows = [];
  for (const timing of timingNames) {
    for (const n of cacheSizes) {
      for (const variant of cacheVariants) {
        if (variant.name !== 'seed' && !agentAvailable) continue;
        // With pod 1 late the late-coordinator variant (pod 0 late) would be the plain star: not run.
        if ((timings[timing].late || timings[timing].restart) && variant.name === 'late-coordinator')
          continue;
        process.stderr.write(`seed.bench: cache ${cacheS} s, ${timing}, N=${n} ${variant.name} … `);
        const row = await runVariant(
          variant,
          n,
          {
            cacheSeconds: cacheS,
            publishDelayMs: timings[timing].publishDelayMs,
            late: timings[timing].late,
            restart: timings[timing].restart,
          },
          cacheRepeats,
        );
        row.timing = timing;
        process.stderr.write(
          `${row.done}/${n * cacheRepeats} released, median ${fmt(row.median)}, max ${fmt(row.max)}, ${row.cacheQueries} queries to the cache, ${row.queries} to Knot\n`,
        );
        if (row.failed > 0)
          process.stderr.write(`  ${row.failed} pods failed; last lines: ${row.sample.join(' | ')}\n`);
        cacheRows.push(row);
      }
    }
  }
  out.push('');
  out.push(`## Release latency through a caching resolver (unbound, ${cacheS} s) vs the seed loop`);
  out.push('');
  out.push(
    `The same pods and late start (${LATE_MS / 1000} s), but the pods ask unbound (on the DNS address, port 53, in the hub namespace), which asks Knot: \`cache-max-ttl\` and \`cache-max-negative-ttl\` ${cacheS}, no prefetch, no serve-expired, Knot's record TTL, SOA TTL and SOA MINIMUM ${cacheS} (kubeadm's CoreDNS: \`ttl 30\`, \`cache 30\`). A name asked before its record exists stays NXDOMAIN in the cache for up to ${cacheS} s. Four record timings: *present* = each record is committed before its pod starts (what \`publishNotReadyAddresses: true\` gives); *present-1* = the same with pod 1 the late one (the seed's walk asks pod 1's name at its second step, before that record exists, however slowly 64 walks run on this machine; with the last pod late, 64 CPU-bound walks here reach its name after the record exists, where one node a pod would ask it within ~0.1 s and be denied); *late* = each record 1 s after its pod starts (a Service that publishes Ready pods only); *restart-0* = records present, pod 0 (the coordinator) killed 1.2 s in and started again on a new address, its old record served 10 s more by Knot (and by the cache for the rest of its TTL), the old address given to a stranger that accepts TCP on the agent's port and never answers and echoes UDP (the seed's \`ping\` of pod 0 is answered by the stranger; with \`fqdn\` exports the coordinator waits until its name leaves the old address, with \`ip\` nobody waits for it). ${cacheRepeats} run(s) per cell. Latency = from the last record's publication to a pod's release, dated by the pod. Queries: what the pods sent to the cache, and what reached Knot (cache misses). "naming the cache" = pods whose output mentions a cached denial (in brackets: of the pods the cache told NXDOMAIN for an A, AAAA or SRV question, from its reply log).`,
  );
  out.push('');
  out.push(
    `Started ${cacheStarted}, load average ${cacheLoad.toFixed(2)} on ${os.cpus().length} cores (the machine is shared: other work inflates the times).`,
  );
  out.push('');
  out.push(
    '| records | N | variant | released within cap | median | max | median after the last start | queries to the cache | queries to Knot | CPU s (pods) | naming the cache | median vs seed | cache queries vs seed |',
  );
  out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of cacheRows) {
    const seed = cacheRows.find((r) => r.n === row.n && r.timing === row.timing && r.variant.name === 'seed');
    const isSeed = row.variant.name === 'seed';
    out.push(
      `| ${row.timing} | ${row.n} | ${row.variant.label} | ${row.done} of ${row.n * row.runs} | ${fmt(row.median)} | ${fmt(row.max)} | ${fmt(row.medianAfterStart)} | ${row.cacheQueries.toLocaleString('en-US')} | ${row.queries.toLocaleString('en-US')} | ${row.cpu.toFixed(2)} | ${isSeed ? `— (${row.deniedPods} denied)` : `${row.namingCache} of ${row.n * row.runs} (${row.namingDenied} of ${row.deniedPods} denied)`} | ${isSeed || !seed ? '—' : ratio(row.median, seed.median)} | ${isSeed || !seed ? '—' : ratio(row.cacheQueries, seed.cacheQueries)} |`,
    );
  }
  out.push('');
  out.push(
    "Goals (issue 11): *present*: star median ≤ 0.5 s and ≤ 0.05 × the seed; *late*: `--peer-address ip` median ≤ 0.5 s after the record, `fqdn` median ≤ 0.6 × the seed and the pods' output names the cache.",
  );
  out.push('');
  for (const row of cacheRows) {
    if (row.variant.name === 'seed') continue;
    const seed = cacheRows.find((r) => r.n === row.n && r.timing === row.timing && r.variant.name === 'seed');
    if (!seed) continue;
    const all = row.done === row.n * row.runs;
    // Naming is owed for a denial the pod got (the cache's reply log says which pods it told NXDOMAIN for an
    // address question): a pod that asked nothing before its record has none to name.
    const named = row.namingDenied === row.deniedPods;
    const naming =
      row.deniedPods === 0
        ? 'output names the cache: no pod was denied an address, nothing to name'
        : `output names the cache ${named ? 'met' : 'NOT met'} (${row.namingDenied} of the ${row.deniedPods} pods denied)`;
    if (row.variant.name === 'late-coordinator') {
      // No latency goal of its own (issue 11 names the late member), but its pods owe the naming too wherever
      // the cache denied them an address (at N=64, where the late member's pods are denied none).
      if (row.timing === 'late') out.push(`- late, N=${row.n} late-coordinator: ${naming}`);
      continue;
    }
    // The restart has no goal in issue 11: its rows are measured and shown, not judged.
    if (row.timing === 'restart-0') continue;
    const ip = /--peer-address ip/.test(row.variant.label);
    let goal;
    if (row.timing.startsWith('present')) {
      if (row.variant.name !== 'star') continue;
      goal = all && row.median <= 500 && row.median <= 0.05 * seed.median;
      out.push(
        `- ${row.timing}, N=${row.n} ${row.variant.name}: ≤ 0.5 s and ≤ 0.05 × seed ${goal ? 'met' : 'NOT met'}${seed.deniedPods === 0 ? ' (the seed was told no NXDOMAIN for an address: not poisoned in this run)' : ''}`,
      );
    } else if (ip) {
      goal = all && row.median <= 500;
      out.push(
        `- late, N=${row.n} ${row.variant.name}: ≤ 0.5 s after the record ${goal ? 'met' : 'NOT met'}`,
      );
    } else {
      goal = all && row.median <= 0.6 * seed.median;
      out.push(`- late, N=${row.n} ${row.variant.name}: ≤ 0.6 × seed ${goal ? 'met' : 'NOT met'}; ${naming}`);
    }
  }
}
console.log(out.join('\n'));
