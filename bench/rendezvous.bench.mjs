#!/usr/bin/env node
// Barrier benchmarks, in one process: N agents on 127.40.x.y, the project's DNS server on loopback.
// - star N=1024 and mesh N=256: all agents running before any record exists; then every record is
//   published at once. Measured: last record published → last agent released, DNS queries, connections, RSS.
// - 16 pods, one late member (starts 1 s late, its record 0.2 s after it starts): release latency after the
//   last record, median and max.
import { createServer } from 'node:net';
import { ClusterDnsServer } from '../dist/dns/server.js';
import { waitForPeers } from '../dist/rendezvous/wait.js';

const JOB = 'bench-job';
const SVC = 'bench-svc';
const NS = 'default';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ip = (block, i) => `127.${block}.${Math.floor(i / 250)}.${(i % 250) + 1}`;

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

async function scenario({ n, verify, block, late }) {
  const dns = await ClusterDnsServer.start({ host: '127.0.0.1', port: 0, ttl: 5 });
  dns.addService({ name: SVC, namespace: NS });
  const port = await freePort();
  const released = new Array(n);
  const publish = (i) =>
    dns.setPod({
      hostname: `${JOB}-${i}`,
      subdomain: SVC,
      namespace: NS,
      addresses: [ip(block, i)],
      ready: true,
    });
  const start = (i) =>
    waitForPeers({
      index: i,
      completions: n,
      jobName: JOB,
      subdomain: SVC,
      namespace: NS,
      hostname: `${JOB}-${i}`,
      listen: ip(block, i),
      port,
      verify,
      dnsServer: `127.0.0.1:${dns.address.port}`,
      timeoutMs: 60_000,
      hostsFile: '/nonexistent',
      resolvConf: '/nonexistent',
      namespaceFile: '/nonexistent',
    }).then((r) => {
      released[i] = performance.now();
      return r;
    });
  const rssBefore = process.memoryUsage().rss;
  peakRss = rssBefore;
  let lastPublished;
  let results;
  if (late === undefined) {
    const running = Array.from({ length: n }, (_, i) => start(i));
    await sleep(Math.max(1000, n * 2)); // everyone is up, has asked once and is backing off
    for (let i = 0; i < n; i++) publish(i);
    lastPublished = performance.now();
    results = await Promise.all(running);
  } else {
    const early = [];
    for (let i = 0; i < n; i++) {
      if (i === late) continue;
      publish(i);
      early.push(start(i));
    }
    await sleep(1000);
    const lateRun = start(late);
    await sleep(200);
    publish(late);
    lastPublished = performance.now();
    results = [...(await Promise.all(early)), await lateRun];
  }
  const latencies = released.map((t) => t - lastPublished).sort((a, b) => a - b);
  const stats = dns.stats();
  const connections = results.reduce((s, r) => s + r.stats.connections, 0);
  await dns.close();
  return {
    n,
    verify,
    medianMs: latencies[Math.floor(latencies.length / 2)],
    maxMs: latencies[latencies.length - 1],
    queries: stats.total,
    queriesPerAgent: stats.total / n,
    connectionsPerAgent: connections / n,
    peakRssMiB: (peakRss - rssBefore) / 2 ** 20,
    generations: new Set(results.map((r) => r.generation)).size,
  };
}

const rows = [];
rows.push({
  label: 'star, N=1024, all records at once',
  goal: 'last ≤ 2000 ms, queries ≤ 4·N',
  ...(await scenario({ n: 1024, verify: 'star', block: 40 })),
});
rows.push({
  label: 'mesh, N=256, all records at once',
  goal: 'last ≤ 10000 ms',
  ...(await scenario({ n: 256, verify: 'mesh', block: 41 })),
});
rows.push({
  label: 'star, N=16, one late member',
  goal: 'median ≤ 50 ms',
  ...(await scenario({ n: 16, verify: 'star', block: 42, late: 7 })),
});
rows.push({
  label: 'star, N=16, late coordinator',
  goal: '(for comparison)',
  ...(await scenario({ n: 16, verify: 'star', block: 43, late: 0 })),
});
clearInterval(rssTimer);

const f = (x, d = 0) => x.toFixed(d);
const lines = [
  '## Rendezvous barrier (in-process agents, project DNS server)',
  '',
  "Time is measured from the moment the last record is published to each agent's release. Queries are all DNS",
  'questions the server saw (service discovery included); RSS is the growth of this one process for all agents.',
  '',
  '| scenario | median ms | last ms | DNS queries | queries/agent | connections/agent | RSS growth MiB | one generation | goal |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.label} | ${f(r.medianMs)} | ${f(r.maxMs)} | ${r.queries} | ${f(r.queriesPerAgent, 2)} | ${f(r.connectionsPerAgent, 2)} | ${f(r.peakRssMiB)} | ${r.generations === 1 ? 'yes' : `NO (${r.generations})`} | ${r.goal} |`,
  ),
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);
