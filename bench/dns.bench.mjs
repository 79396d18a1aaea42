#!/usr/bin/env node
// DNS stub resolver throughput: 10,000 distinct names at concurrency 64 against a local authoritative
// server, our DnsClient vs node:dns Resolver (c-ares, setServers on the same server), in the same run.
// The server runs in a child process so its CPU is not counted. Prints one markdown section.
import { spawn, spawnSync } from 'node:child_process';
import { Resolver } from 'node:dns';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist');
const { DnsClient } = await import(join(dist, 'dns', 'client.js'));

const NAMES = Number(process.env.DNS_BENCH_NAMES ?? 10_000);
const CONCURRENCY = 64;
const REPS = Number(process.env.DNS_BENCH_REPS ?? 5);
const ZONE = 'cluster.local';
const names = Array.from({ length: NAMES }, (_, i) => `job-${i}.bench.default.svc.${ZONE}.`);

/** The project's ClusterDnsServer in a child process; resolves with { host, port, stop }. */
async function startClusterServer() {
  const serverJs = join(dist, 'dns', 'server.js');
  const script = `
    const { ClusterDnsServer } = await import(${JSON.stringify(serverJs)});
    const s = await ClusterDnsServer.start({ host: '127.0.0.1', port: 0, zone: '${ZONE}', ttl: 30 });
    s.addService({ name: 'bench', namespace: 'default', publishNotReadyAddresses: true });
    for (let i = 0; i < ${NAMES}; i++) {
      s.setPod({ hostname: 'job-' + i, subdomain: 'bench', namespace: 'default',
        addresses: ['10.' + ((i >> 16) & 255) + '.' + ((i >> 8) & 255) + '.' + (i & 255)], ready: true });
    }
    process.stdout.write(JSON.stringify({ port: s.address.port }) + '\\n');
    process.stdin.resume();
    process.stdin.on('end', () => s.close().then(() => process.exit(0)));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const { port } = JSON.parse(line);
  return {
    label: 'ClusterDnsServer (src/dns/server.ts, own Node process)',
    host: '127.0.0.1',
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin.end();
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/** knotd with the same names in its zone file. */
async function startKnotd() {
  const dir = mkdtempSync(join(tmpdir(), 'rdv-bench-knot-'));
  const port = 20_000 + Math.floor(Math.random() * 40_000);
  const host = '127.0.0.1';
  writeFileSync(
    join(dir, 'knot.conf'),
    `server:\n    rundir: "${dir}"\n    listen: ${host}@${port}\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n` +
      `database:\n    storage: "${dir}"\nlog:\n  - target: stderr\n    any: error\n` +
      `template:\n  - id: default\n    storage: "${dir}"\n    zonefile-sync: -1\nzone:\n  - domain: ${ZONE}.\n`,
  );
  const lines = [
    `$ORIGIN ${ZONE}.`,
    '$TTL 30',
    `@ SOA ns.${ZONE}. h.${ZONE}. 1 3600 600 86400 5`,
    `@ NS ns.${ZONE}.`,
    `ns A ${host}`,
  ];
  for (let i = 0; i < NAMES; i++)
    lines.push(`job-${i}.bench.default.svc A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  writeFileSync(join(dir, `${ZONE}.zone`), `${lines.join('\n')}\n`);
  const child = spawn('knotd', ['-c', join(dir, 'knot.conf')], {
    stdio: 'ignore',
    env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
  });
  const client = new DnsClient({ servers: [{ host, port }], timeoutMs: 200, attempts: 1 });
  for (let i = 0; i < 100; i++) {
    const r = await client.query(`ns.${ZONE}.`, 'A');
    if (r.kind === 'records') break;
    await new Promise((res) => setTimeout(res, 50));
  }
  await client.close();
  return {
    label: 'knotd 1 UDP worker (Debian knot)',
    host,
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Run `ask(name)` over every name with CONCURRENCY workers; time, CPU and how many had records. */
async function measure(ask) {
  let next = 0;
  let ok = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < names.length) {
        const name = names[next++];
        if (await ask(name)) ok++;
      }
    }),
  );
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    qps: (names.length / ms) * 1000,
    cpuMsPerQuery: (cpu.user + cpu.system) / 1000 / names.length,
    ok,
  };
}

/** A DnsClient row: `extra` options on top of the defaults (EDNS 1232, 32 questions per socket). */
function ours(extra) {
  return (server) => {
    const c = new DnsClient({ servers: [server], concurrency: CONCURRENCY, ...extra });
    return { ask: async (n) => (await c.query(n, 'A')).kind === 'records', close: () => c.close() };
  };
}

const clients = {
  'DnsClient defaults (EDNS0 1232, 32 questions/socket)': ours({}),
  'DnsClient, fresh socket per question': ours({ queriesPerSocket: 1 }),
  'DnsClient, no EDNS (what c-ares sends)': ours({ udpPayloadSize: 0 }),
  'node:dns Resolver (c-ares)': (server) => {
    const r = new Resolver({ timeout: 2000, tries: 2 });
    r.setServers([`${server.host}:${server.port}`]);
    return {
      ask: (n) =>
        new Promise((resolve) =>
          r.resolve4(n.slice(0, -1), { ttl: true }, (err, a) => resolve(!err && a.length > 0)),
        ),
      close: () => r.cancel(),
    };
  },
};
const BASELINE = 'node:dns Resolver (c-ares)';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function benchServer(server) {
  const results = {};
  // Warm up the server (and its answer cache) once with every name.
  {
    const c = ours({})(server);
    await measure(c.ask);
    await c.close();
  }
  const entries = Object.entries(clients);
  for (let rep = 0; rep < REPS; rep++) {
    // Rotate the order each run so no client always runs right after another one.
    const order = [...entries.slice(rep % entries.length), ...entries.slice(0, rep % entries.length)];
    for (const [name, make] of order) {
      const c = make(server);
      const m = await measure(c.ask);
      await c.close();
      if (!results[name]) results[name] = [];
      results[name].push(m);
    }
  }
  const rows = [];
  const base = median(results[BASELINE].map((m) => m.qps));
  const baseCpu = median(results[BASELINE].map((m) => m.cpuMsPerQuery));
  for (const [name] of entries) {
    const ms = results[name];
    const qps = median(ms.map((m) => m.qps));
    const cpu = median(ms.map((m) => m.cpuMsPerQuery));
    const ok = Math.min(...ms.map((m) => m.ok));
    rows.push(
      `| ${name} | ${Math.round(qps).toLocaleString('en-US')} | ${cpu.toFixed(4)} | ${(qps / base).toFixed(2)}× | ${(cpu / baseCpu).toFixed(2)}× | ${ok}/${NAMES} |`,
    );
  }
  return rows;
}

const out = [
  '## DNS stub resolver vs c-ares',
  '',
  `${NAMES.toLocaleString('en-US')} distinct A names, concurrency ${CONCURRENCY}, median of ${REPS} runs; server in its own process on 127.0.0.1.`,
  'CPU is this process only (user+system). Goal: DnsClient throughput ≥ c-ares. node:dns (c-ares 1.34) sends',
  'no EDNS OPT record, so the "no EDNS" row is the like-for-like comparison; the machine is shared, expect noise.',
  '',
];
const servers = [];
if (existsSync(join(dist, 'dns', 'server.js'))) servers.push(startClusterServer);
if (spawnSync('sh', ['-c', 'command -v knotd || test -x /usr/sbin/knotd'], { stdio: 'ignore' }).status === 0)
  servers.push(startKnotd);
for (const start of servers) {
  const server = await start();
  try {
    out.push(`### server: ${server.label}`, '');
    out.push('| client | queries/s | CPU ms/query | throughput vs c-ares | CPU vs c-ares | answered |');
    out.push('|---|---:|---:|---:|---:|---:|');
    out.push(...(await benchServer({ host: server.host, port: server.port })), '');
  } finally {
    await server.stop();
  }
}
if (servers.length === 0)
  out.push('No server available (build dist/ with src/dns/server.ts, or install knot).');
process.stdout.write(`${out.join('\n')}\n`);
