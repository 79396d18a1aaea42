// Start a real Knot DNS server (knotd from Debian) on 127.x.y.z and a random high port, authoritative for one
// zone, with records added and removed at run time through knsupdate (RFC 2136). Used by DNS, rendezvous
// and e2e tests: `const knot = await startKnot(); … await knot.stop();`.
import { execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { sbinEnv, superviseServer } from './server-process.js';

/** A record for the zone file or for knsupdate: owner (relative to the zone or absolute), type, value. */
export interface KnotRecord {
  readonly name: string;
  readonly type: string;
  /** Presentation format: `10.0.0.1`, `0 100 8080 job-0.svc.ns.svc.cluster.local.` … */
  readonly value: string;
  readonly ttl?: number;
}

export interface KnotOptions {
  /** Zone served, without the trailing dot (default `cluster.local`). */
  readonly zone?: string;
  /** Default TTL and SOA MINIMUM (default 5). */
  readonly ttl?: number;
  /** SOA record TTL (default = ttl), to tell min(SOA TTL, MINIMUM) apart in tests. */
  readonly soaTtl?: number;
  /** Records present from the start (written to the zone file; fast for thousands). */
  readonly records?: readonly KnotRecord[];
  /** Worker threads per protocol (default 1: the machine is shared). */
  readonly workers?: number;
}

export interface KnotServer {
  /** 127.x.y.z the server listens on. */
  readonly address: string;
  readonly port: number;
  /** `address:port`, as `--dns-server` takes it. */
  readonly server: string;
  readonly zone: string;
  /** Add one record at run time; resolves once knotd has committed it. */
  add(name: string, type: string, value: string, ttl?: number): Promise<void>;
  /** Remove one record (`value` given) or the whole RRset of `type` at `name`. */
  remove(name: string, type: string, value?: string): Promise<void>;
  /** Several adds/removes in one dynamic update. */
  update(
    changes: readonly (
      | ({ op: 'add' } & KnotRecord)
      | { op: 'delete'; name: string; type: string; value?: string }
    )[],
  ): Promise<void>;
  /** Kill knotd and remove its files. Safe to call twice. */
  stop(): Promise<void>;
}

const START_TRIES = 5;
const READY_TIMEOUT_MS = 5000;

/** Throw a clear error (not a skip) when knotd or knsupdate is not installed. */
export function requireKnot(): void {
  for (const [bin, pkg] of [
    ['knotd', 'knot'],
    ['knsupdate', 'knot-dnsutils'],
  ] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore', env: sbinEnv() });
    } catch {
      throw new Error(`${bin} is not installed: apt-get install ${pkg} (see .ci/run)`);
    }
  }
}

/** Start knotd for `zone`; retries on another address/port when the bind fails. */
export async function startKnot(options: KnotOptions = {}): Promise<KnotServer> {
  requireKnot();
  const zone = (options.zone ?? 'cluster.local').replace(/\.$/, '');
  const ttl = options.ttl ?? 5;
  let lastError: unknown;
  for (let attempt = 0; attempt < START_TRIES; attempt++) {
    const address = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    const port = randomInt(20_000, 60_000);
    try {
      return await startOnce(zone, ttl, options, address, port);
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`knotd did not start after ${START_TRIES} tries`, { cause: lastError });
}

async function startOnce(
  zone: string,
  ttl: number,
  options: KnotOptions,
  address: string,
  port: number,
): Promise<KnotServer> {
  const dir = mkdtempSync(join(tmpdir(), 'rdv-knot-'));
  const workers = options.workers ?? 1;
  writeFileSync(
    join(dir, 'knot.conf'),
    [
      'server:',
      `    rundir: "${dir}"`,
      `    listen: ${address}@${port}`,
      `    udp-workers: ${workers}`,
      `    tcp-workers: ${workers}`,
      '    background-workers: 1',
      'database:',
      `    storage: "${dir}"`,
      'log:',
      '  - target: stderr',
      '    any: warning',
      'acl:',
      '  - id: local_update',
      '    address: 127.0.0.0/8',
      '    action: update',
      'template:',
      '  - id: default',
      `    storage: "${dir}"`,
      '    zonefile-sync: -1',
      '    journal-content: changes',
      'zone:',
      `  - domain: ${zone}.`,
      '    acl: local_update',
      '',
    ].join('\n'),
  );
  const lines = [
    `$ORIGIN ${zone}.`,
    `$TTL ${ttl}`,
    `@ ${options.soaTtl ?? ttl} IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 ${ttl}`,
    `@ ${ttl} IN NS ns.${zone}.`,
    `ns ${ttl} IN A ${address}`,
    ...(options.records ?? []).map((r) => `${r.name} ${r.ttl ?? ttl} IN ${r.type} ${r.value}`),
    '',
  ];
  writeFileSync(join(dir, `${zone}.zone`), lines.join('\n'));

  const child = spawn('knotd', ['-c', join(dir, 'knot.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: sbinEnv(),
  });
  const server = superviseServer(child, dir);
  const { stop } = server;
  try {
    await waitUntilAnswering(address, port, zone, server.closed, server.stderr);
  } catch (error) {
    await stop();
    throw error;
  }

  const nsupdate = async (body: string[]): Promise<void> => {
    const script = [
      `server ${address} ${port}`,
      `zone ${zone}.`,
      `origin ${zone}.`,
      ...body,
      'send',
      'quit',
      '',
    ];
    await runKnsupdate(script.join('\n'));
  };
  const fqdn = (name: string): string => (name.endsWith('.') ? name : `${name}.${zone}.`);
  return {
    address,
    port,
    server: `${address}:${port}`,
    zone,
    add: (name, type, value, recordTtl = ttl) =>
      nsupdate([`update add ${fqdn(name)} ${recordTtl} ${type} ${value}`]),
    remove: (name, type, value) =>
      nsupdate([`update delete ${fqdn(name)} ${type}${value ? ` ${value}` : ''}`]),
    update: (changes) =>
      nsupdate(
        changes.map((c) =>
          c.op === 'add'
            ? `update add ${fqdn(c.name)} ${c.ttl ?? ttl} ${c.type} ${c.value}`
            : `update delete ${fqdn(c.name)} ${c.type}${c.value ? ` ${c.value}` : ''}`,
        ),
      ),
    stop,
  };
}

/** Poll with an SOA query until knotd answers, it exits, or READY_TIMEOUT_MS passes. */
async function waitUntilAnswering(
  address: string,
  port: number,
  zone: string,
  exited: Promise<number | null>,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  for (let i = 0; i < 200 && Date.now() < deadline; i++) {
    if (exitCode !== undefined) throw new Error(`knotd exited with ${exitCode}: ${stderr().trim()}`);
    if (await soaAnswers(address, port, zone)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `knotd on ${address}:${port} did not answer within ${READY_TIMEOUT_MS} ms: ${stderr().trim()}`,
  );
}

function soaAnswers(address: string, port: number, zone: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const id = randomInt(0, 65_536);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 200);
    socket.on('error', () => done(false));
    socket.on('message', (msg) => {
      try {
        const p = dnsPacket.decode(msg) as dnsPacket.DecodedPacket & { rcode?: string };
        if (p.id === id && p.rcode === 'NOERROR' && (p.answers ?? []).some((a) => a.type === 'SOA'))
          done(true);
      } catch {
        // not a DNS answer
      }
    });
    socket.send(
      dnsPacket.encode({ type: 'query', id, questions: [{ type: 'SOA', name: zone, class: 'IN' }] }),
      port,
      address,
    );
  });
}

function runKnsupdate(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('knsupdate', [], { stdio: ['pipe', 'pipe', 'pipe'], env: sbinEnv() });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && !/error|failed|refused/i.test(out)) resolve();
      else reject(new Error(`knsupdate failed (exit ${code}): ${out.trim()}\nscript:\n${script}`));
    });
    child.stdin.end(script);
  });
}
