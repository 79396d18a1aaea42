#!/usr/bin/env node
// The hand-over: (1) memory left once the workload runs — with execve only the workload's own RSS, no Node
// process; with --no-exec the supervising Node agent stays next to it; (2) start-up: time from spawning the
// CLI to its first DNS query, against `node -e 0` (and `--version`, `explain`) measured in the same run.
// The start-up rows are measured in rounds (one run of each row per round) so that load changes on the shared
// machine hit every row alike. Env: BENCH_EXEC_RUNS=15 (rounds; medians are reported), BENCH_BIN (the CLI).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.BENCH_BIN ?? join(here, '..', 'bin', 'peer-rendezvous.js');
const EXE = join(here, '..', 'dist', 'peer-rendezvous');
const RUNS = Number(process.env.BENCH_EXEC_RUNS ?? 15);
const NO_FILES = [
  '--hosts-file',
  '/nonexistent',
  '--resolv-conf',
  '/nonexistent',
  '--namespace-file',
  '/nonexistent',
];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const rssKiB = (pid) =>
  Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const children = (pid) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
const exe = (pid) => readlinkSync(`/proc/${pid}/exe`);

/** Run a 1-pod mesh whose workload is `sleep`; once it runs, sum the RSS of every process that is left. */
async function rssAfterRelease(noExec) {
  const port = await freePort();
  const args = [
    BIN,
    'run',
    '--peers',
    '127.0.0.1',
    '--index',
    '0',
    '--listen',
    '127.0.0.1',
    '--port',
    String(port),
  ];
  args.push(
    '--dns-server',
    '127.0.0.1:9',
    ...NO_FILES,
    '--quiet',
    ...(noExec ? ['--no-exec'] : []),
    '--',
    'sleep',
    '30',
  );
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  try {
    for (let i = 0; i < 400; i++) {
      await sleep(25);
      const pids = [child.pid, ...children(child.pid)];
      const sleeping = pids.filter((p) => exe(p).endsWith('/sleep'));
      if (sleeping.length === 0) continue;
      await sleep(200); // let the workload settle
      const left = [child.pid, ...children(child.pid)];
      return {
        processes: left.map((p) => exe(p).split('/').pop()).join(' + '),
        nodeLeft: left.some((p) => exe(p) === process.execPath || /node/.test(exe(p))),
        kib: left.reduce((sum, p) => sum + rssKiB(p), 0),
      };
    }
    throw new Error('the workload never started');
  } finally {
    child.kill('SIGKILL');
    for (const p of (() => {
      try {
        return children(child.pid);
      } catch {
        return [];
      }
    })())
      process.kill(p, 'SIGKILL');
  }
}

/** Wall time of a command that exits by itself. */
async function wall(args) {
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, { stdio: 'ignore' });
    c.on('error', reject);
    c.on('close', resolve);
  });
  return performance.now() - t0;
}

/**
 * Time from spawning `wait` (pod 1 of 2) to the first packet at a UDP socket standing in for the DNS server.
 * `listen`: the --listen address; without it the agent listens on all addresses as in a pod (nothing is sent
 * anywhere but the loopback DNS socket either way).
 */
async function firstQuery(listen, { file = process.execPath, env = process.env } = {}) {
  const sock = dgram.createSocket('udp4');
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  const port = await freePort();
  const args = file === process.execPath ? [BIN] : [];
  args.push('wait', '--index', '1', '--completions', '2', '--job-name', 'j', '--subdomain', 's');
  args.push('--namespace', 'n', '--hostname', 'j-1', '--dns-server', `127.0.0.1:${sock.address().port}`);
  args.push(...NO_FILES, '--port', String(port), '--timeout', '20s', '--quiet');
  if (listen) args.push('--listen', listen);
  const t0 = performance.now();
  const child = spawn(file, args, { stdio: 'ignore', env });
  const ms = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no DNS query within 20 s')), 20_000);
    sock.once('message', () => {
      clearTimeout(timer);
      resolve(performance.now() - t0);
    });
  });
  child.kill('SIGKILL');
  sock.close();
  await new Promise((r) => child.once('close', r));
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const load0 = os.loadavg()[0];
const exec = await rssAfterRelease(false);
const supervised = await rssAfterRelease(true);
const explainArgs = [BIN, 'explain', '--index', '0', '--completions', '2', '--job-name', 'j'];
explainArgs.push('--subdomain', 's', '--namespace', 'n', ...NO_FILES);
const rows = {
  baseline: () => wall(['-e', '0']),
  yargsOnly: () => wall(['--input-type=module', '-e', "await import('yargs')"]),
  version: () => wall([BIN, '--version']),
  explain: () => wall(explainArgs),
  query: () => firstQuery(undefined),
  queryListen: () => firstQuery('127.0.0.1'),
  // A pod's first start: no compile cache (a new container has an empty /tmp).
  queryCold: () => firstQuery(undefined, { env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' } }),
  ...(existsSync(EXE) ? { queryExe: () => firstQuery(undefined, { file: EXE }) } : {}),
};
const times = Object.fromEntries(Object.keys(rows).map((k) => [k, []]));
// One untimed round first: it fills Node's compile cache for the bundle, as the first start of a pod would.
for (const fn of Object.values(rows)) await fn();
for (let round = 0; round < RUNS; round++) {
  for (const [k, fn] of Object.entries(rows)) times[k].push(await fn());
}
const [baseline, yargsOnly, version, explain, query, queryListen, queryCold, queryExe] =
  Object.values(times).map(median);
const mib = (k) => (k / 1024).toFixed(1);
const x = (v) => `${(v / baseline).toFixed(2)}×`;

const out = [
  '## exec: memory after release and start-up time',
  '',
  `Load average at start: ${load0.toFixed(2)} on ${os.cpus().length} cores (other work on the machine inflates the times).`,
  '',
  '| after release (workload `sleep 30`, 1-pod mesh) | processes left | RSS left | vs exec |',
  '|---|---|---:|---:|',
  `| execve (default) | ${exec.processes}${exec.nodeLeft ? ' (Node left!)' : ''} | ${mib(exec.kib)} MiB | 1.00× |`,
  `| --no-exec (supervised) | ${supervised.processes} | ${mib(supervised.kib)} MiB | ${(supervised.kib / exec.kib).toFixed(1)}× |`,
  '',
  `| start-up, median of ${RUNS} rounds | ms | vs \`node -e 0\` (goal for the first query: ≤ 2×) |`,
  '|---|---:|---:|',
  `| \`node -e 0\` (baseline, exits) | ${baseline.toFixed(0)} | 1.00× |`,
  `| \`node -e "await import('yargs')"\` (the CLI parser alone) | ${yargsOnly.toFixed(0)} | ${x(yargsOnly)} |`,
  `| \`peer-rendezvous --version\` (exits) | ${version.toFixed(0)} | ${x(version)} |`,
  `| \`peer-rendezvous explain\` (exits) | ${explain.toFixed(0)} | ${x(explain)} |`,
  `| \`peer-rendezvous wait\`: spawn → first DNS query (as in a pod: listening on all addresses) | ${query.toFixed(0)} | ${x(query)} |`,
  `| the same without compile cache (\`NODE_DISABLE_COMPILE_CACHE=1\`: a new container's first start) | ${queryCold.toFixed(0)} | ${x(queryCold)} |`,
  queryExe === undefined
    ? '| the single executable: not built (`npm run build:exe`) | — | — |'
    : `| the same from the single executable \`dist/peer-rendezvous\` (the image's entrypoint; V8 code cache inside) | ${queryExe.toFixed(0)} | ${x(queryExe)} |`,
  `| the same with \`--listen 127.0.0.1\` (Node's listen() looks the host up and compiles its IPv6 pattern) | ${queryListen.toFixed(0)} | ${x(queryListen)} |`,
  '',
];
process.stdout.write(`${out.join('\n')}\n`);
