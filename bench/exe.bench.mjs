// Single executable vs `node bin/peer-rendezvous.js` (dist/): file size and start-up time of --version and
// explain (the CLI's whole start-up: parse, identity files, output), median of many runs each.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildExe } from '../scripts/build-exe.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const node24 = join(root, 'node_modules', '.bin', 'node');
const runs = Number(process.env.BENCH_RUNS ?? 25);
const work = mkdtempSync(join(tmpdir(), 'rdv-exe-bench-'));

try {
  const hosts = join(work, 'hosts');
  const resolvConf = join(work, 'resolv.conf');
  writeFileSync(hosts, '10.244.1.7\texample-job-2.headless-svc.default.svc.cluster.local\texample-job-2\n');
  writeFileSync(
    resolvConf,
    'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\n',
  );
  const explain = ['explain', '--index', '2', '--completions', '3', '--hostname', 'example-job-2'];
  explain.push('--hosts-file', hosts, '--resolv-conf', resolvConf);

  const withCache = await buildExe({ out: join(work, 'cache', 'peer-rendezvous') });
  const noCache = await buildExe({ out: join(work, 'nocache', 'peer-rendezvous'), codeCache: false });
  const unstripped = await buildExe({ out: join(work, 'full', 'peer-rendezvous'), strip: false });

  const variants = [
    {
      name: 'node bin/peer-rendezvous.js (dist/, baseline)',
      cmd: [node24, join(root, 'bin', 'peer-rendezvous.js')],
    },
    { name: 'single executable (code cache, stripped)', cmd: [withCache.out] },
    { name: 'single executable without code cache', cmd: [noCache.out] },
  ];

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  };
  // CPU time of waited-for children (user + system), from /proc/self/stat, in clock ticks (USER_HZ = 100).
  const childTicks = () => {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return Number(fields[13]) + Number(fields[14]);
  };
  const once = (cmd, args) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd[0], [...cmd.slice(1), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin' },
    });
    const elapsed = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`${cmd.join(' ')} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return elapsed;
  };
  // Variants take turns run by run, so load from other processes falls on all of them alike.
  const samples = variants.map(() => ({ version: [], explain: [], ticks: 0 }));
  for (let i = 0; i < runs + 2; i++) {
    variants.forEach((v, k) => {
      const a = once(v.cmd, ['--version']);
      const before = childTicks();
      const b = once(v.cmd, explain);
      if (i >= 2) {
        samples[k].version.push(a);
        samples[k].explain.push(b);
        samples[k].ticks += childTicks() - before;
      }
    });
  }
  const results = variants.map((v, k) => ({
    ...v,
    version: median(samples[k].version),
    explain: median(samples[k].explain),
    cpu: (samples[k].ticks * 10) / runs,
  }));
  const base = results[0];
  const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const lines = [
    '## Single executable: size and start-up',
    '',
    `Median of ${runs} runs each (after 2 warm-up rounds; variants interleaved), wall clock of spawn → exit. Ratio = time / baseline (< 1 is faster). CPU time is less disturbed by other load on the machine than wall clock.`,
    '',
    '| variant | --version | ratio | explain | ratio | explain CPU (user+sys, mean) | ratio |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.name} | ${r.version.toFixed(1)} ms | ${(r.version / base.version).toFixed(2)} | ` +
        `${r.explain.toFixed(1)} ms | ${(r.explain / base.explain).toFixed(2)} | ` +
        `${r.cpu.toFixed(1)} ms | ${(r.cpu / base.cpu).toFixed(2)} |`,
    ),
    '',
    '| file | size |',
    '|---|---:|',
    `| dist/peer-rendezvous (stripped, code cache) | ${mib(withCache.bytes)} (${withCache.bytes} bytes) |`,
    `| not stripped | ${mib(unstripped.bytes)} |`,
    `| Node binary it is made from | ${mib(statSync(join(root, 'node_modules', 'node', 'bin', 'node')).size)} |`,
    `| bundle inside (esbuild, minified) | ${mib(withCache.bundleBytes)} (${withCache.bundleInputs} source files) |`,
    `| SEA blob (bundle + code cache) | ${mib(withCache.blobBytes)} |`,
    '',
    `Build time: ${withCache.ms} ms (Node ${withCache.node}).`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
