// Sidecar vs wrapper before the release, and a replacement's rejoin after it: real CLI processes on loopback
// with an explicit --peers list (no DNS). Prints a markdown section (npm run bench sidecar).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/peer-rendezvous.js', import.meta.url));
const N = 4;
const RUNS = 5;
const LATE_MS = 1000;
const dir = mkdtempSync(join(tmpdir(), 'rdv-bench-sidecar-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const freePort = (host) =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Resolves with performance.now() when `file` exists (polled every 2 ms, at most 30 s). */
async function appears(file) {
  for (let i = 0; i < 15_000; i++) {
    if (existsSync(file)) return performance.now();
    await sleep(2);
  }
  throw new Error(`${file} did not appear`);
}

function start(mode, i, run, gen, port, probePort, peers) {
  const ip = `127.77.${gen}.${i + 1}`;
  const ready = join(dir, `${mode}-${run}-${i}-${gen}.json`);
  const args = [
    BIN,
    mode,
    ...['--peers', peers, '--index', String(i), '--listen', ip, '--port', String(port)],
    ...[
      '--ready-file',
      ready,
      '--timeout',
      '30s',
      '--progress-interval',
      '0',
      '--termination-log',
      '',
      '--quiet',
    ],
    ...(mode === 'sidecar'
      ? ['--export-dir', join(dir, `x-${run}-${i}-${gen}`), '--probe-port', String(probePort)]
      : []),
  ];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  return { child, ready, spawnedAt: performance.now() };
}

async function once(mode, run) {
  const port = await freePort('127.77.0.1');
  const probePort = await freePort('127.77.0.1');
  const peers = Array.from({ length: N }, (_, i) => `127.77.0.${i + 1}`).join(',');
  const pods = [];
  for (let i = 0; i < N - 1; i++) pods.push(start(mode, i, run, 0, port, probePort, peers));
  await sleep(LATE_MS);
  pods.push(start(mode, N - 1, run, 0, port, probePort, peers));
  const last = pods.at(-1).spawnedAt;
  const times = await Promise.all(pods.map((p) => appears(p.ready)));
  const release = Math.max(...times) - last;
  let rejoin;
  if (mode === 'sidecar') {
    // Replace member N-1 (same address: the list is explicit) and time its sidecar to ready.
    const old = pods.pop();
    old.child.kill('SIGKILL');
    await new Promise((r) => old.child.once('exit', r));
    const again = start(mode, N - 1, `${run}r`, 0, port, probePort, peers);
    pods.push(again);
    rejoin = (await appears(again.ready)) - again.spawnedAt;
  }
  for (const p of pods) p.child.kill('SIGTERM');
  await Promise.all(
    pods.map((p) => new Promise((r) => (p.child.exitCode !== null ? r() : p.child.once('exit', r)))),
  );
  return { release, rejoin };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { wait: [], sidecar: [], rejoin: [] };
for (let run = 0; run < RUNS; run++) {
  // Interleaved, so that load on the machine hits both alike.
  results.wait.push((await once('wait', run)).release);
  const s = await once('sidecar', run);
  results.sidecar.push(s.release);
  results.rejoin.push(s.rejoin);
}
rmSync(dir, { recursive: true, force: true });
const w = median(results.wait);
const s = median(results.sidecar);
const fmt = (ms) => `${ms.toFixed(0)} ms`;
console.log(`## Sidecar vs wrapper (${N} pods on loopback, --peers, the last one ${LATE_MS} ms late)

Median of ${RUNS} interleaved runs: time from spawning the last pod to the moment every pod's \`--ready-file\`
exists (for the sidecar: after its export directory was written). A replaced member's sidecar: spawn → ready.

| shape                         | last pod started → all ready | ratio to \`wait\` |
| ----------------------------- | ---------------------------- | --------------- |
| \`wait\` (the wrapper's barrier) | ${fmt(w)}                       | 1.00            |
| \`sidecar\`                     | ${fmt(s)}                       | ${(s / w).toFixed(2)}            |
| \`sidecar\`, replaced member    | ${fmt(median(results.rejoin))} spawn → ready          |                 |
`);
