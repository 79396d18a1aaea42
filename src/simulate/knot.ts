// A third-party cluster DNS for end-to-end tests, the benchmark and the DNS tests: Knot DNS (`knotd` from
// Debian) serving one zone with CoreDNS-like TTLs, any record type from the zone file or changed at run time
// with `knsupdate` (RFC 2136), queries counted by mod-stats. It runs here or wherever a placement spawns it
// (a hub network namespace); test/helpers/knot.ts wraps it with a random loopback address.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RendezvousError } from '../errors.js';
import { runControl, superviseDaemon } from './daemon.js';

/** A record for the zone file or for knsupdate: owner (relative to the zone or absolute), type, value. */
export interface KnotRecord {
  readonly name: string;
  readonly type: string;
  /** Presentation format: `10.0.0.1`, `0 100 8080 job-0.svc.ns.svc.cluster.local.` … */
  readonly value: string;
  /** Default: the server's `ttl`. */
  readonly ttl?: number;
}

/** One change of a dynamic update: add a record, or delete one (`value` given) or the RRset of `type`. */
export type KnotChange =
  | ({ readonly op: 'add' } & KnotRecord)
  | { readonly op: 'delete'; readonly name: string; readonly type: string; readonly value?: string };

/** How to start processes where the server lives (in a hub namespace, or here). */
export interface KnotPlacement {
  /** Spawn a long-running process (knotd); stdio[2] should be a pipe, for its errors. */
  readonly spawn: (argv: readonly string[]) => ChildProcess;
  /** Spawn a short process (knsupdate) that reads `stdin`. */
  readonly spawnShort: (argv: readonly string[]) => ChildProcess;
}

/** Options of {@link startKnot}. */
export interface KnotOptions {
  readonly address: string;
  readonly port: number;
  /** A directory the server owns (config, zone, control socket). Default: a temporary one, removed by stop(). */
  readonly dir?: string;
  /** The zone served, trailing dot optional (default `cluster.local`). */
  readonly zone?: string;
  /** TTL of records and of negative answers (SOA MINIMUM), like CoreDNS' `ttl` (default 5). */
  readonly ttl?: number;
  /** TTL of the SOA record itself (default `ttl`), to tell min(SOA TTL, MINIMUM) apart in tests. */
  readonly soaTtl?: number;
  /** Records present from the start (written to the zone file: fast for thousands). */
  readonly records?: readonly KnotRecord[];
  /** UDP and TCP worker threads (default 1: the machine is shared, and one is plenty for a test or a run). */
  readonly workers?: number;
  /** Where knotd and knsupdate run (default: here, {@link localPlacement}). */
  readonly placement?: KnotPlacement;
}

/** A running knotd. */
export interface KnotServer {
  readonly address: string;
  readonly port: number;
  /** `address:port`, as `--dns-server` takes it. */
  readonly server: string;
  /** The zone, without the trailing dot. */
  readonly zone: string;
  /** The knotd process. */
  readonly process: ChildProcess;
  /** Add one record at run time; resolves once knotd has committed it. */
  add(name: string, type: string, value: string, ttl?: number): Promise<void>;
  /** Remove one record (`value` given) or the whole RRset of `type` at `name`. */
  remove(name: string, type: string, value?: string): Promise<void>;
  /** Several adds and deletes in one dynamic update (one transaction); nothing is sent for none. */
  update(changes: readonly KnotChange[]): Promise<void>;
  /** Queries answered so far (updates not counted). */
  queries(): number;
  /** Stop knotd and remove the temporary directory, if it made one. Safe to call twice. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 5_000;
const KNSUPDATE_TIMEOUT_MS = 10_000;

/** An environment whose PATH has the sbin directories, where Debian puts knotd and knotc. */
function sbinEnv(): NodeJS.ProcessEnv {
  return { PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` };
}

/** Run knotd and knsupdate as children of this process. */
export const localPlacement: KnotPlacement = {
  spawn: ([bin, ...args]) => spawn(bin!, args, { stdio: ['ignore', 'ignore', 'pipe'], env: sbinEnv() }),
  spawnShort: ([bin, ...args]) => spawn(bin!, args, { stdio: 'pipe', env: sbinEnv() }),
};

/** Start knotd with the zone (SOA, NS, `records`) and wait until it has loaded it, per its control socket. */
export async function startKnot(options: KnotOptions): Promise<KnotServer> {
  const zone = (options.zone ?? 'cluster.local').replace(/\.$/, '');
  const ttl = options.ttl ?? 5;
  const workers = options.workers ?? 1;
  const placement = options.placement ?? localPlacement;
  const { address, port } = options;
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'rdv-knot-'));
  const socket = join(dir, 'knot.sock');
  const zoneFile = join(dir, `${zone}.zone`);
  const config = [
    'server:',
    `    rundir: "${dir}"`,
    `    listen: ${address}@${port}`,
    '    background-workers: 1',
    `    udp-workers: ${workers}`,
    `    tcp-workers: ${workers}`,
    'control:',
    `    listen: "${socket}"`,
    'log:',
    '  - target: stderr',
    '    any: warning',
    'database:',
    `    storage: "${dir}"`,
    // knsupdate runs in the hub namespace (10/8) or here (loopback).
    'acl:',
    '  - id: update',
    '    address: [10.0.0.0/8, 127.0.0.0/8]',
    '    action: update',
    'mod-stats:',
    '  - id: default',
    '    request-protocol: on',
    // Updates live in memory only: nothing reads the zone back, and journal writes would add to the DNS CPU
    // the benchmark reports.
    'template:',
    '  - id: default',
    `    storage: "${dir}"`,
    '    zonefile-sync: -1',
    '    zonefile-load: whole',
    '    journal-content: none',
    '    global-module: mod-stats/default',
    'zone:',
    `  - domain: ${zone}`,
    `    file: "${zoneFile}"`,
    '    acl: update',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'knot.conf'), config);
  writeFileSync(
    zoneFile,
    [
      `$ORIGIN ${zone}.`,
      `$TTL ${ttl}`,
      `@ ${options.soaTtl ?? ttl} IN SOA ns.dns.${zone}. hostmaster.${zone}. 1 7200 1800 86400 ${ttl}`,
      `@ IN NS ns.dns.${zone}.`,
      `ns.dns IN A ${address}`,
      ...(options.records ?? []).map((r) => `${r.name} ${r.ttl ?? ttl} IN ${r.type} ${r.value}`),
      '',
    ].join('\n'),
  );

  const child = placement.spawn(['knotd', '-c', join(dir, 'knot.conf')]);
  const daemon = superviseDaemon(child, {
    name: 'knotd',
    where: `${address}:${port}`,
    ownDir: ownDir ? dir : undefined,
  });
  const stop = daemon.stop;
  const control = (args: readonly string[]) =>
    spawnSync('knotc', ['-s', socket, ...args], { encoding: 'utf8', timeout: 5_000, env: sbinEnv() });
  // knotd binds its addresses before it opens the control socket (and exits when a bind fails), so a loaded
  // zone there means queries are answered.
  await daemon.waitReady(async () => {
    const status = await runControl('knotc', ['-s', socket, 'zone-status', zone], sbinEnv());
    return status.code === 0 && !/not yet loaded|-\s*$/.test(status.stdout);
  }, READY_TIMEOUT_MS);

  const fqdn = (name: string): string => (name.endsWith('.') ? name : `${name}.${zone}.`);
  const line = (c: KnotChange): string =>
    c.op === 'add'
      ? `update add ${fqdn(c.name)} ${c.ttl ?? ttl} ${c.type} ${c.value}`
      : `update delete ${fqdn(c.name)} ${c.type}${c.value ? ` ${c.value}` : ''}`;
  const update = async (changes: readonly KnotChange[]): Promise<void> => {
    if (changes.length === 0) return;
    const script = [
      `server ${address} ${port}`,
      `zone ${zone}.`,
      `origin ${zone}.`,
      ...changes.map(line),
      'send',
      'quit',
      '',
    ].join('\n');
    const nsupdate = placement.spawnShort(['knsupdate']);
    let out = '';
    nsupdate.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    nsupdate.stderr?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const timer = setTimeout(() => nsupdate.kill('SIGKILL'), KNSUPDATE_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => {
      nsupdate.once('error', (error) => {
        out += error.message;
        resolve(-1);
      });
      nsupdate.once('close', (c) => resolve(c));
      nsupdate.stdin?.end(script);
    });
    clearTimeout(timer);
    // knsupdate may print a failure (a refused update) and still exit 0.
    if (code !== 0 || /error|failed|refused/i.test(out)) {
      throw new RendezvousError(
        'RDV_ERR_DNS',
        `knsupdate failed (exit ${code}): ${out.trim()}\nscript:\n${script}`,
      );
    }
  };

  return {
    address,
    port,
    server: `${address}:${port}`,
    zone,
    process: child,
    add: (name, type, value, recordTtl) => update([{ op: 'add', name, type, value, ttl: recordTtl }]),
    remove: (name, type, value) => update([{ op: 'delete', name, type, value }]),
    update,
    queries() {
      const r = control(['stats', 'mod-stats.server-operation']);
      const m = /server-operation\[query\] = (\d+)/.exec(r.stdout);
      return m ? Number(m[1]) : 0;
    },
    stop,
  };
}

/** True when knotd, knotc and knsupdate are installed. */
export function knotAvailable(): boolean {
  return ['knotd', 'knotc', 'knsupdate'].every(
    (tool) => !spawnSync(tool, ['-V'], { stdio: 'ignore', env: sbinEnv() }).error,
  );
}
