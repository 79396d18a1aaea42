// A real caching resolver in front of the cluster DNS, as CoreDNS' `cache` plugin (or NodeLocal DNSCache) sits
// in front of the `kubernetes` plugin in a cluster: Debian's `unbound`, run in the foreground with its own
// config in a directory of ours (no chroot, no daemon, no root hints used, no DNSSEC validation), the cluster
// zone stubbed to the authoritative server, everything else REFUSED (nothing leaves the test world).
// Positive answers are kept min(TTL, cap), denials min(SOA TTL, SOA MINIMUM, cap) (RFC 2308), TTLs counting
// down; no prefetch, no serve-expired. Queries are counted by unbound's own statistics (unbound-control over
// a local socket). Runs here or wherever a placement spawns it (a hub network namespace), like Knot.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RendezvousError, UsageError } from '../errors.js';
import { runControl, superviseDaemon } from './daemon.js';

/** How to start the resolver where it lives (in a hub namespace, or here). */
export interface UnboundPlacement {
  /** Spawn the long-running unbound; stdio[2] should be a pipe, for its errors. */
  readonly spawn: (argv: readonly string[]) => ChildProcess;
}

/** Options of {@link startUnbound}. */
export interface UnboundOptions {
  /** Where the cache listens (UDP and TCP): an IPv4 or IPv6 literal and a port. */
  readonly address: string;
  readonly port: number;
  /** The authoritative server of the zone (Knot, the project's server). */
  readonly upstream: { readonly address: string; readonly port: number };
  /** The zone stubbed to `upstream`, trailing dot optional (default `cluster.local`). */
  readonly zone?: string;
  /** Longest a positive answer is kept, seconds (`cache-max-ttl`); like CoreDNS `cache <seconds>`. */
  readonly cacheSeconds: number;
  /** Longest a denial is kept, seconds (`cache-max-negative-ttl`); default `cacheSeconds`. */
  readonly negativeCacheSeconds?: number;
  /** Log every reply (client, name, type, rcode) to `<dir>/replies.log`, for {@link UnboundServer.replies}. */
  readonly logReplies?: boolean;
  /** A directory the resolver owns (config, control socket). Default: a temporary one, removed by stop(). */
  readonly dir?: string;
  /** Where unbound runs (default: here). */
  readonly placement?: UnboundPlacement;
}

/** Counters from unbound's statistics. */
export interface UnboundStats {
  /** Queries clients sent to the cache. */
  readonly queries: number;
  /** Of those, answered from the cache. */
  readonly cacheHits: number;
  /** Of those, that needed the authoritative server. */
  readonly cacheMisses: number;
  /** Answers by rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED …). */
  readonly byRcode: Readonly<Record<string, number>>;
}

/** A running unbound. */
export interface UnboundServer {
  readonly address: string;
  readonly port: number;
  /** `address:port` (`[v6]:port`), as `--dns-server` takes it. */
  readonly server: string;
  readonly cacheSeconds: number;
  readonly negativeCacheSeconds: number;
  readonly process: ChildProcess;
  /** Its statistics so far (not reset). */
  stats(): UnboundStats;
  /** The replies logged so far (`logReplies`; empty without it), oldest first. */
  replies(): UnboundReply[];
  /** Forget everything cached for the zone (as a restarted cache). */
  flush(): void;
  /** Stop unbound and remove the temporary directory, if it made one. Safe to call twice. */
  stop(): Promise<void>;
}

const UNBOUND = '/usr/sbin/unbound';
const UNBOUND_CONTROL = '/usr/sbin/unbound-control';
const READY_TIMEOUT_MS = 5_000;
const MAX_CACHE_SECONDS = 86_400;

/** The unbound.conf for these options (exported for tests and for users who want to see it). */
export function unboundConfig(options: UnboundOptions & { readonly dir: string }): string {
  const zone = (options.zone ?? 'cluster.local').replace(/\.$/, '');
  const positive = checkSeconds('cacheSeconds', options.cacheSeconds);
  const negative = checkSeconds('negativeCacheSeconds', options.negativeCacheSeconds ?? positive);
  const v6 = options.address.includes(':') || options.upstream.address.includes(':');
  const at = (address: string, port: number) => `${address}@${port}`;
  return [
    'server:',
    '    verbosity: 0',
    `    interface: ${at(options.address, options.port)}`,
    `    port: ${options.port}`,
    '    do-daemonize: no',
    '    username: ""',
    '    chroot: ""',
    `    directory: "${options.dir}"`,
    '    pidfile: ""',
    '    use-syslog: no',
    ...(options.logReplies === true
      ? [`    logfile: "${join(options.dir, REPLY_LOG)}"`, '    log-replies: yes']
      : ['    logfile: ""']),
    '    num-threads: 1',
    '    so-reuseport: no',
    `    do-ip6: ${v6 ? 'yes' : 'no'}`,
    '    access-control: 127.0.0.0/8 allow',
    '    access-control: 10.0.0.0/8 allow',
    '    access-control: ::1/128 allow',
    '    access-control: fd00::/8 allow',
    // The authoritative server may be on loopback.
    '    do-not-query-localhost: no',
    // No DNSSEC: the iterator alone, as CoreDNS' cache in front of the kubernetes plugin.
    '    module-config: "iterator"',
    '    qname-minimisation: no',
    // CoreDNS' cache keeps a positive answer at least 5 s (MINTTL); unbound 1.17 has no such floor for denials,
    // whose time the zone's SOA sets (its TTL and MINIMUM are the cap in every test world here).
    `    cache-min-ttl: ${Math.min(5, positive)}`,
    `    cache-max-ttl: ${positive}`,
    `    cache-max-negative-ttl: ${negative}`,
    '    serve-expired: no',
    '    prefetch: no',
    '    statistics-cumulative: yes',
    '    extended-statistics: yes',
    // Nothing leaves the test world: names outside the zone are refused here (the zone itself resolves).
    '    local-zone: "." refuse',
    `    local-zone: "${zone}." transparent`,
    `    domain-insecure: "${zone}."`,
    'remote-control:',
    '    control-enable: yes',
    `    control-interface: "${join(options.dir, 'unbound.ctl')}"`,
    '    control-use-cert: no',
    'stub-zone:',
    `    name: "${zone}."`,
    `    stub-addr: ${at(options.upstream.address, options.upstream.port)}`,
    '    stub-first: no',
    '',
  ].join('\n');
}

function checkSeconds(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CACHE_SECONDS) {
    throw new UsageError(
      `unbound ${what} ${JSON.stringify(value)} is invalid: expected an integer number of seconds 1–${MAX_CACHE_SECONDS}`,
    );
  }
  return value;
}

/** Run unbound as a child of this process. */
export const localUnboundPlacement: UnboundPlacement = {
  spawn: ([bin, ...args]) => spawn(bin!, args, { stdio: ['ignore', 'ignore', 'pipe'] }),
};

/** Parse `unbound-control stats_noreset` output. */
export function parseUnboundStats(text: string): UnboundStats {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\w.]+)=(\d+(?:\.\d+)?)$/.exec(line.trim());
    if (m) values.set(m[1]!, Number(m[2]));
  }
  const byRcode: Record<string, number> = {};
  for (const [key, value] of values) {
    const m = /^num\.answer\.rcode\.(\w+)$/.exec(key);
    if (m && value > 0) byRcode[m[1]!] = value;
  }
  return {
    queries: values.get('total.num.queries') ?? 0,
    cacheHits: values.get('total.num.cachehits') ?? 0,
    cacheMisses: values.get('total.num.cachemiss') ?? 0,
    byRcode,
  };
}

/** Start unbound with its own config and wait until it answers its control socket. */
export async function startUnbound(options: UnboundOptions): Promise<UnboundServer> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'rdv-unbound-'));
  const confPath = join(dir, 'unbound.conf');
  let config: string;
  try {
    config = unboundConfig({ ...options, dir });
  } catch (error) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  writeFileSync(confPath, config);
  const placement = options.placement ?? localUnboundPlacement;
  const child = placement.spawn([UNBOUND, '-d', '-c', confPath]);
  const daemon = superviseDaemon(child, {
    name: 'unbound',
    where: `${options.address}:${options.port}`,
    installHint: '(apt-get install unbound)',
    ownDir: ownDir ? dir : undefined,
  });
  const control = (args: readonly string[]) =>
    spawnSync(UNBOUND_CONTROL, ['-c', confPath, ...args], { encoding: 'utf8', timeout: 5_000 });
  // unbound opens its listening sockets before the control socket.
  await daemon.waitReady(
    async () => (await runControl(UNBOUND_CONTROL, ['-c', confPath, 'status'])).code === 0,
    READY_TIMEOUT_MS,
  );
  const zone = (options.zone ?? 'cluster.local').replace(/\.$/, '');
  const positive = options.cacheSeconds;
  return {
    address: options.address,
    port: options.port,
    server: options.address.includes(':')
      ? `[${options.address}]:${options.port}`
      : `${options.address}:${options.port}`,
    cacheSeconds: positive,
    negativeCacheSeconds: options.negativeCacheSeconds ?? positive,
    process: child,
    stats() {
      const r = control(['stats_noreset']);
      if (r.status !== 0) {
        throw new RendezvousError('RDV_ERR_DNS', `unbound-control stats failed: ${(r.stderr ?? '').trim()}`);
      }
      return parseUnboundStats(r.stdout);
    },
    replies() {
      if (options.logReplies !== true) return [];
      let text: string;
      try {
        text = readFileSync(join(dir, REPLY_LOG), 'utf8');
      } catch {
        return [];
      }
      return parseReplyLog(text);
    },
    flush() {
      control(['flush_zone', zone]);
      control(['flush_infra', 'all']);
    },
    stop: daemon.stop,
  };
}

/** The file `logReplies` writes, in the server's directory. */
const REPLY_LOG = 'replies.log';

/** One reply unbound logged (`log-replies: yes`). */
export interface UnboundReply {
  readonly client: string;
  /** The question's name, with its final dot. */
  readonly name: string;
  readonly type: string;
  readonly rcode: string;
}

/**
 * The replies in unbound's log (`log-replies: yes`, unbound 1.17): `[<time>] unbound[<pid>:<thread>] info:
 * <client> <name> <type> <class> <rcode> <seconds> <cached> <size>`, one line each; other lines are skipped.
 */
export function parseReplyLog(text: string): UnboundReply[] {
  const out: UnboundReply[] = [];
  for (const line of text.split('\n')) {
    const m = /\] info: (\S+) (\S*\.) (\S+) IN ([A-Z]+) \d+\.\d+ \d \d+$/.exec(line);
    if (m) out.push({ client: m[1]!, name: m[2]!, type: m[3]!, rcode: m[4]! });
  }
  return out;
}

/** True when unbound and unbound-control are installed. */
export function unboundAvailable(): boolean {
  return [UNBOUND, UNBOUND_CONTROL].every(
    (bin) => !spawnSync(bin, ['-h'], { stdio: 'ignore', timeout: 5_000 }).error,
  );
}
