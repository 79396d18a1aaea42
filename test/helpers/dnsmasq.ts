// Start dnsmasq (Debian dnsmasq-base) as an authoritative server for one zone on 127.0.0.1 and a random
// high port, with names published and withdrawn at run time through --hostsdir (one hosts file per name).
// `const dm = await startDnsmasq(); await dm.setHost('job-0.svc.ns.svc.cluster.local', ['10.0.0.1']); …`
import { execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { sbinEnv, superviseServer } from './server-process.js';

export interface DnsmasqOptions {
  /** Zone served authoritatively, without the trailing dot (default `cluster.local`). */
  readonly zone?: string;
  /** TTL of answers and of the SOA (default 5). */
  readonly ttl?: number;
}

export interface DnsmasqServer {
  readonly address: string;
  readonly port: number;
  /** `address:port`, as `--dns-server` takes it. */
  readonly server: string;
  readonly zone: string;
  /** Publish `name` (absolute or not) with these addresses; resolves once dnsmasq answers with them. */
  setHost(name: string, addresses: readonly string[]): Promise<void>;
  /** Withdraw `name`; resolves once dnsmasq answers NXDOMAIN for it. */
  removeHost(name: string): Promise<void>;
  /** Kill dnsmasq and remove its files. Safe to call twice. */
  stop(): Promise<void>;
}

const START_TRIES = 5;
const WAIT_MS = 5000;

/** Throw a clear error (not a skip) when dnsmasq is not installed. */
export function requireDnsmasq(): void {
  try {
    execFileSync('sh', ['-c', 'command -v dnsmasq'], { stdio: 'ignore', env: sbinEnv() });
  } catch {
    throw new Error('dnsmasq is not installed: apt-get install dnsmasq-base (see .ci/run)');
  }
}

/** Start dnsmasq; retries on another port when the bind fails. */
export async function startDnsmasq(options: DnsmasqOptions = {}): Promise<DnsmasqServer> {
  requireDnsmasq();
  const zone = (options.zone ?? 'cluster.local').replace(/\.$/, '');
  const ttl = options.ttl ?? 5;
  let lastError: unknown;
  for (let attempt = 0; attempt < START_TRIES; attempt++) {
    try {
      return await startOnce(zone, ttl, randomInt(20_000, 60_000));
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`dnsmasq did not start after ${START_TRIES} tries`, { cause: lastError });
}

async function startOnce(zone: string, ttl: number, port: number): Promise<DnsmasqServer> {
  // AA and the SOA need the auth-server address to be on an interface: 127.0.0.1 is, other 127/8 are not.
  const address = '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'rdv-dnsmasq-'));
  const hostsDir = join(dir, 'hosts');
  mkdirSync(hostsDir);
  const child = spawn(
    'dnsmasq',
    [
      '--keep-in-foreground',
      `--port=${port}`,
      `--listen-address=${address}`,
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      `--hostsdir=${hostsDir}`,
      `--auth-zone=${zone}`,
      `--auth-server=ns.${zone},${address}`,
      `--auth-ttl=${ttl}`,
      `--local-ttl=${ttl}`,
      '--user=root',
      '--pid-file=',
      '--log-facility=-',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: sbinEnv() },
  );
  const server = superviseServer(child, dir);
  const { closed, stop } = server;
  try {
    await waitFor(
      async () => (await ask(address, port, zone, 'SOA')).rcode === 'NOERROR',
      closed,
      () => `dnsmasq on ${address}:${port} did not answer: ${server.stderr().trim()}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const fqdn = (name: string): string => name.replace(/\.$/, '');
  const fileFor = (name: string): string => join(hostsDir, fqdn(name).toLowerCase());
  return {
    address,
    port,
    server: `${address}:${port}`,
    zone,
    setHost: async (name, addresses) => {
      const tmp = join(dir, `tmp-${randomInt(1e9)}`);
      writeFileSync(tmp, addresses.map((a) => `${a} ${fqdn(name)}\n`).join(''));
      renameSync(tmp, fileFor(name)); // atomic for inotify: dnsmasq never reads half a file
      const want = [...addresses].filter((a) => !a.includes(':')).sort();
      await waitFor(
        async () => {
          const r = await ask(address, port, fqdn(name), 'A');
          const got = (r.answers ?? []).flatMap((a) => (a.type === 'A' ? [String(a.data)] : [])).sort();
          if (want.length === 0 || JSON.stringify(got) === JSON.stringify(want)) return true;
          // Too many for UDP: a truncated answer holding only new addresses will do.
          return r.flag_tc === true && got.length > 0 && got.every((a) => want.includes(a));
        },
        closed,
        () => `dnsmasq did not pick up ${name}`,
      );
    },
    removeHost: async (name) => {
      rmSync(fileFor(name), { force: true });
      await waitFor(
        async () => (await ask(address, port, fqdn(name), 'A')).rcode === 'NXDOMAIN',
        closed,
        () => `dnsmasq still answers ${name}`,
      );
    },
    stop,
  };
}

/** dnsmasq as a caching forwarder (what kube-dns runs in front of kubedns, there with --no-negcache). */
export interface DnsmasqCache {
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Start dnsmasq on 127.0.0.1 as a cache in front of `upstream`, keeping denials (unless `negcache` is false,
 * kube-dns' `--no-negcache`). dnsmasq keeps an NXDOMAIN for the name, whatever type was asked.
 */
export async function startDnsmasqCache(
  upstream: { address: string; port: number },
  options: { negcache?: boolean } = {},
): Promise<DnsmasqCache> {
  requireDnsmasq();
  let lastError: unknown;
  for (let attempt = 0; attempt < START_TRIES; attempt++) {
    const port = randomInt(20_000, 60_000);
    const dir = mkdtempSync(join(tmpdir(), 'rdv-dnsmasq-cache-'));
    const child = spawn(
      'dnsmasq',
      [
        '--keep-in-foreground',
        `--port=${port}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        '--no-resolv',
        '--no-hosts',
        `--server=${upstream.address}#${upstream.port}`,
        '--cache-size=1000',
        ...(options.negcache === false ? ['--no-negcache'] : []),
        '--user=root',
        '--pid-file=',
        '--log-facility=-',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: sbinEnv() },
    );
    const server = superviseServer(child, dir);
    try {
      await waitFor(
        async () => (await ask('127.0.0.1', port, '.', 'SOA')).rcode !== undefined,
        server.closed,
        () => `dnsmasq (cache) on 127.0.0.1:${port} did not answer: ${server.stderr().trim()}`,
      );
      return { address: '127.0.0.1', port, stop: server.stop };
    } catch (error) {
      lastError = error;
      await server.stop();
    }
  }
  throw new Error(`dnsmasq (cache) did not start after ${START_TRIES} tries`, { cause: lastError });
}

/** Poll `check` every 20 ms until it is true, the process ends, or WAIT_MS passes. */
async function waitFor(
  check: () => Promise<boolean>,
  closed: Promise<number | null>,
  message: () => string,
): Promise<void> {
  let exit: number | null | undefined;
  void closed.then((code) => {
    exit = code;
  });
  const deadline = Date.now() + WAIT_MS;
  for (let i = 0; i < 250 && Date.now() < deadline; i++) {
    if (exit !== undefined) throw new Error(`${message()} (dnsmasq exited with ${exit})`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(message());
}

type Answer = { rcode?: string; flag_tc?: boolean; answers?: { type: string; data: unknown }[] };

/** One UDP question with dns-packet (independent of the client under test); {} on timeout or junk. */
function ask(address: string, port: number, name: string, type: 'A' | 'SOA'): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const id = randomInt(0, 65_536);
    const done = (answer: Answer): void => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done({}), 200);
    socket.on('error', () => done({}));
    socket.on('message', (msg) => {
      try {
        const p = dnsPacket.decode(msg) as unknown as Answer & { id: number };
        if (p.id === id) done(p);
      } catch {
        // not DNS
      }
    });
    socket.send(
      dnsPacket.encode({ type: 'query', id, questions: [{ type, name, class: 'IN' }] }),
      port,
      address,
    );
  });
}
