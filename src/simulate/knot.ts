// A third-party cluster DNS for end-to-end tests and the benchmark: Knot DNS (`knotd`) serving the cluster
// zone with CoreDNS-like TTLs, records changed at run time with `knsupdate`, queries counted by mod-stats.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RendezvousError } from '../errors.js';

/** One A record: `name` absolute (trailing dot optional), `address` IPv4. */
export interface ARecord {
  readonly name: string;
  readonly address: string;
}

/** How to start processes where the server lives (in a hub namespace, or here). */
export interface KnotPlacement {
  /** Spawn a long-running process (knotd). */
  readonly spawn: (argv: readonly string[]) => ChildProcess;
  /** Spawn a short process (knsupdate) that reads `stdin`. */
  readonly spawnShort: (argv: readonly string[]) => ChildProcess;
}

/** Options of {@link startKnot}. */
export interface KnotOptions {
  /** A directory the server owns (config, zone, control socket). */
  readonly dir: string;
  readonly address: string;
  readonly port: number;
  /** The cluster zone (default `cluster.local`). */
  readonly zone?: string;
  /** TTL of records and of negative answers (SOA MINIMUM), like CoreDNS' `ttl` (default 5). */
  readonly ttl?: number;
  readonly placement: KnotPlacement;
}

/** A running knotd. */
export interface KnotServer {
  readonly address: string;
  readonly port: number;
  readonly zone: string;
  /** The knotd process. */
  readonly process: ChildProcess;
  /** Add A records (one transaction). */
  add(records: readonly ARecord[]): Promise<void>;
  /** Delete A records (one transaction). */
  remove(records: readonly ARecord[]): Promise<void>;
  /** Queries answered so far (updates not counted). */
  queries(): number;
  /** Stop knotd. */
  stop(): Promise<void>;
}

/** Start knotd with an empty cluster zone (SOA, NS) and wait until it answers its control socket. */
export async function startKnot(options: KnotOptions): Promise<KnotServer> {
  const zone = (options.zone ?? 'cluster.local').replace(/\.$/, '');
  const ttl = options.ttl ?? 5;
  const { dir, address, port } = options;
  const socket = join(dir, 'knot.sock');
  const config = [
    'server:',
    `    rundir: "${dir}"`,
    `    listen: ${address}@${port}`,
    '    background-workers: 1',
    '    udp-workers: 1',
    '    tcp-workers: 1',
    'control:',
    `    listen: "${socket}"`,
    'log:',
    '  - target: stderr',
    '    any: warning',
    'database:',
    `    storage: "${dir}"`,
    'acl:',
    '  - id: update',
    '    address: [10.0.0.0/8, 127.0.0.0/8]',
    '    action: update',
    'mod-stats:',
    '  - id: default',
    '    request-protocol: on',
    'template:',
    '  - id: default',
    `    storage: "${dir}"`,
    '    zonefile-sync: -1',
    '    zonefile-load: whole',
    '    journal-content: none',
    '    global-module: mod-stats/default',
    'zone:',
    `  - domain: ${zone}`,
    `    file: "${join(dir, `${zone}.zone`)}"`,
    '    acl: update',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'knot.conf'), config);
  writeFileSync(
    join(dir, `${zone}.zone`),
    `$TTL ${ttl}\n@ IN SOA ns.dns.${zone}. hostmaster.${zone}. 1 7200 1800 86400 ${ttl}\n@ IN NS ns.dns.${zone}.\nns.dns IN A ${address}\n`,
  );
  const child = options.placement.spawn(['knotd', '-c', join(dir, 'knot.conf')]);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const control = (args: readonly string[]) =>
    spawnSync('knotc', ['-s', socket, ...args], { encoding: 'utf8', timeout: 5_000 });
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) {
      throw new RendezvousError('RDV_ERR_UNSUPPORTED', `knotd exited ${child.exitCode}: ${stderr.trim()}`);
    }
    const status = control(['zone-status', zone]);
    if (status.status === 0 && !/not yet loaded|-\s*$/.test(status.stdout)) break;
    if (attempt >= 100) {
      child.kill('SIGKILL');
      throw new RendezvousError('RDV_ERR_UNSUPPORTED', `knotd did not come up within 5 s: ${stderr.trim()}`);
    }
    await sleep(50);
  }

  const update = async (verb: 'add' | 'delete', records: readonly ARecord[]): Promise<void> => {
    if (records.length === 0) return;
    const lines = [`server ${address} ${port}`, `zone ${zone}.`];
    for (const r of records) {
      const name = r.name.endsWith('.') ? r.name : `${r.name}.`;
      lines.push(
        verb === 'add' ? `update add ${name} ${ttl} A ${r.address}` : `update delete ${name} A ${r.address}`,
      );
    }
    lines.push('send', 'quit', '');
    const nsupdate = options.placement.spawnShort(['knsupdate']);
    let out = '';
    nsupdate.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    nsupdate.stderr?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const code = await new Promise<number | null>((resolve) => {
      nsupdate.once('error', () => resolve(-1));
      nsupdate.once('close', (c) => resolve(c));
      nsupdate.stdin?.end(lines.join('\n'));
    });
    if (code !== 0) {
      throw new RendezvousError('RDV_ERR_DNS', `knsupdate ${verb} failed (exit ${code}): ${out.trim()}`);
    }
  };

  return {
    address,
    port,
    zone,
    process: child,
    add: (records) => update('add', records),
    remove: (records) => update('delete', records),
    queries() {
      const r = control(['stats', 'mod-stats.server-operation']);
      const m = /server-operation\[query\] = (\d+)/.exec(r.stdout);
      return m ? Number(m[1]) : 0;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** True when knotd, knotc and knsupdate are installed. */
export function knotAvailable(): boolean {
  return ['knotd', 'knotc', 'knsupdate'].every((tool) => !spawnSync(tool, ['-V'], { stdio: 'ignore' }).error);
}
