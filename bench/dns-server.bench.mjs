#!/usr/bin/env node
// Throughput of the CoreDNS-like test server (ClusterDnsServer) on loopback. The load generator runs in its
// own process (bench/dns-server-load.mjs) with 64 queries in flight, so the server's CPU is measured alone:
// queries per server CPU-second is the "one core" figure. Baseline in the same run: a bare UDP echo server
// (Node's datagram round trip, no DNS work), and the same over TCP for the TCP row.
// Env: BENCH_DNS_SECONDS=2 (per scenario)  BENCH_DNS_WINDOW=64
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterDnsServer } from '../dist/dns/server.js';

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.env.BENCH_DNS_SECONDS ?? 2);
const window = Number(process.env.BENCH_DNS_WINDOW ?? 64);
const PODS = 1024;
const POD_NAMES = `job-{i}.workers.bench.svc.cluster.local:${PODS}`;

/** Run the load generator against host:port; returns its counts and this process's CPU for the run. */
async function load(port, transport, qtype, names, durationS = seconds) {
  const cpu0 = process.cpuUsage();
  const out = await new Promise((resolve, reject) => {
    let stdout = '';
    const child = spawn(
      process.execPath,
      [
        join(here, 'dns-server-load.mjs'),
        '127.0.0.1',
        String(port),
        transport,
        String(durationS * 1000),
        String(window),
        qtype,
        ...names,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`load generator exit ${code}`)),
    );
  });
  const cpu = process.cpuUsage(cpu0);
  return { ...out, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** A UDP server that sends every datagram back: the floor of what any UDP server in Node can do. */
async function echoUdp() {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    msg[2] |= 0x80;
    socket.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => new Promise((resolve) => socket.close(resolve)) };
}

/** A TCP server that echoes each length-framed message. */
async function echoTcp() {
  const server = net.createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let offset = 0;
      while (pending.length - offset >= 2 && pending.length - offset - 2 >= pending.readUInt16BE(offset)) {
        const end = offset + 2 + pending.readUInt16BE(offset);
        socket.write(Buffer.from(pending.subarray(offset, end)));
        offset = end;
      }
      pending = pending.subarray(offset);
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) };
}

const rows = [];
function row(label, r, served, baseline) {
  const qps = served / (r.ms / 1000);
  const perCpuS = served / (r.cpuMs / 1000);
  rows.push({
    label,
    qps,
    perCpuS,
    cpuUsPerQuery: (r.cpuMs * 1000) / served,
    ratio: baseline ? perCpuS / baseline : 1,
    lost: Math.max(0, r.sent - r.received - window),
  });
  return perCpuS;
}

const udpEcho = await echoUdp();
const udpBase = await load(udpEcho.port, 'udp', 'A', [POD_NAMES]);
await udpEcho.close();
const udpBaseline = row('baseline: bare UDP echo', udpBase, udpBase.received, undefined);

const tcpEcho = await echoTcp();
const tcpBase = await load(tcpEcho.port, 'tcp', 'A', [POD_NAMES]);
await tcpEcho.close();
const tcpBaseline = row(
  'baseline: bare TCP echo (1 connection, pipelined)',
  tcpBase,
  tcpBase.received,
  undefined,
);

const dns = await ClusterDnsServer.start();
dns.addService({ name: 'workers', namespace: 'bench', ports: [{ name: 'rdzv', port: 29400 }] });
dns.addService({ name: 'small', namespace: 'bench' });
for (let i = 0; i < PODS; i++) {
  const addresses = [`10.8.${i >> 8}.${i & 255}`];
  dns.setPod({ hostname: `job-${i}`, subdomain: 'workers', namespace: 'bench', addresses, ready: true });
  if (i < 64)
    dns.setPod({ hostname: `job-${i}`, subdomain: 'small', namespace: 'bench', addresses, ready: true });
}

async function scenario(label, transport, qtype, names, baseline, during) {
  dns.resetStats();
  const stop = during?.();
  const r = await load(dns.address.port, transport, qtype, names);
  stop?.();
  const s = dns.stats();
  row(label, r, s.total, baseline);
}

// Warm-up (JIT, caches), not recorded.
await load(dns.address.port, 'udp', 'A', [POD_NAMES], 0.5);
await load(dns.address.port, 'tcp', 'A', [POD_NAMES], 0.5);

await scenario('A, 1024 pod names (UDP)', 'udp', 'A', [POD_NAMES], udpBaseline);
await scenario(
  'A, 1024 absent names → NXDOMAIN + SOA (UDP)',
  'udp',
  'A',
  [`gone-{i}.workers.bench.svc.cluster.local:${PODS}`],
  udpBaseline,
);
await scenario(
  'A, Service with 64 pods (UDP, ~1.1 KB answers)',
  'udp',
  'A',
  ['small.bench.svc.cluster.local'],
  udpBaseline,
);
await scenario(
  'A, 1024 pod names while a pod changes every ms (UDP)',
  'udp',
  'A',
  [POD_NAMES],
  udpBaseline,
  () => {
    let i = 0;
    const timer = setInterval(() => {
      i = (i + 1) % PODS;
      dns.setPod({
        hostname: `job-${i}`,
        subdomain: 'workers',
        namespace: 'bench',
        addresses: [`10.9.${i >> 8}.${i & 255}`],
        ready: true,
      });
    }, 1);
    return () => clearInterval(timer);
  },
);
await scenario('A, 1024 pod names (TCP, 1 connection, pipelined)', 'tcp', 'A', [POD_NAMES], tcpBaseline);
await dns.close();

const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const lines = [
  '## DNS server (ClusterDnsServer) throughput',
  '',
  `Load generator in its own process, ${window} queries in flight, ${seconds} s per row, EDNS0 queries. "per server CPU-s" = queries answered per CPU-second of the server process (the one-core figure; goal ≥ 20,000). Ratio = that figure vs the bare echo server of the same transport in this run.`,
  '',
  '| scenario | queries/s (wall) | per server CPU-s | server CPU µs/query | vs echo baseline | lost (UDP) |',
  '|---|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.label} | ${fmt(r.qps)} | ${fmt(r.perCpuS)} | ${fmt(r.cpuUsPerQuery, 1)} | ${fmt(r.ratio, 2)} | ${fmt(r.lost)} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
