// Network-namespace pods: a hub namespace with a bridge, one namespace per pod on a veth pair, kubelet-style
// /etc/netns/<ns>/{hosts,resolv.conf}, a UTS namespace per spawned pod process. Nothing is added to the root
// namespace's interfaces or routes; every address lives inside the namespaces a run creates. Linux, root.
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RendezvousError } from '../errors.js';
import { kubeletHosts, kubeletResolvConf } from './kubelet-files.js';
import {
  DEFAULT_NETNS_PREFIX,
  killNetnsProcesses,
  NETNS_ETC_DIR,
  sweepNetns,
  teardownRun,
} from './netns-teardown.js';

/** The bridge's own address in the hub namespace (pods reach the hub through it). */
export const HUB_ADDRESS = '10.244.0.1';
/** Where the cluster DNS server listens, on the hub's bridge (port 53). */
export const DNS_ADDRESS = '10.244.0.10';
/**
 * The bridge's fixed MAC (locally administered). Without one a Linux bridge takes the lowest MAC of its ports
 * and changes it when ports come and go: a restarted pod's veth could move the hub's MAC while the other pods'
 * ARP caches still held the old one, and their frames to the DNS address then went nowhere for half a minute.
 */
export const HUB_MAC = '02:00:0a:f4:00:01';
/** The cluster network; pods reach all of it (each other and the DNS address) through the hub. */
const CLUSTER_CIDR = '10.244.0.0/16';
const PREFIX_LENGTH = 16;

/** Options of {@link createNetnsCluster}. */
export interface NetnsClusterOptions {
  /** Name prefix of everything the run creates (letters and digits; default `prdv`). */
  readonly prefix?: string;
  /** The `ip` binary (default `ip` on PATH). */
  readonly ip?: string;
  /** The user id to check for root (default `process.getuid()`). */
  readonly uid?: number;
}

/** What a pod namespace is made for: the kubelet's view of the pod. */
export interface NetnsPodSpec {
  /** The pod's hostname (`<job>-<index>`). */
  readonly hostname: string;
  /** The pod's FQDN for /etc/hosts (`<hostname>.<subdomain>.<ns>.svc.<zone>`), when it has a subdomain. */
  readonly fqdn?: string;
  /** resolv.conf search list (`<ns>.svc.<zone> svc.<zone> <zone>`). */
  readonly search: readonly string[];
  /**
   * An address a removed pod had, given to this one (a CNI recycling a freed pod IP); default the next free
   * one. The caller makes sure no live pod holds it.
   */
  readonly address?: string;
}

/** A pod namespace. */
export interface NetnsPod {
  /** The network namespace's name (`ip netns`), unique per run. */
  readonly netns: string;
  readonly hostname: string;
  readonly fqdn: string | undefined;
  /** The pod's address on the bridge. */
  readonly address: string;
}

/** Options for a process spawned in a namespace. */
export interface NetnsSpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly stdio?: SpawnOptions['stdio'];
  /** Write the shell's `times` (CPU of the command and its children) to this file when the command ends. */
  readonly cpuFile?: string;
  /**
   * Set the pod up (namespace, hostname) but run the command only once a line arrives on the child's stdin
   * (`child.stdin.end('\n')`; EOF without one: exit 71); the command then gets /dev/null as stdin.
   * {@link untilHeld} resolves once the child waits for that line. A start is then one write, not a spawn:
   * a group's starts land together however busy the spawning process is.
   */
  readonly held?: boolean;
}

/** A run's namespaces; {@link NetnsCluster.dispose} removes all of it. */
export interface NetnsCluster {
  /** `<prefix>-<pid>-<hex>`: every namespace and file of the run starts with it. */
  readonly id: string;
  /** The hub namespace holding the bridge and the DNS server address. */
  readonly hub: string;
  /** The cluster DNS address (port 53) on the bridge. */
  readonly dnsAddress: string;
  /** A temp directory owned by the run (removed on dispose). */
  readonly dir: string;
  /** Create pod namespaces on the bridge, each with the next free address and kubelet-style files. */
  addPods(specs: readonly NetnsPodSpec[]): Promise<NetnsPod[]>;
  /** Delete one pod namespace (its processes are killed; its address disappears from the bridge). */
  removePod(pod: NetnsPod): void;
  /** Spawn `argv` in the pod's namespace with its hostname (own UTS namespace) and its hosts/resolv.conf. */
  spawnInPod(pod: NetnsPod, argv: readonly string[], options?: NetnsSpawnOptions): ChildProcess;
  /** Spawn `argv` in the hub namespace (the DNS server, knsupdate). */
  spawnInHub(argv: readonly string[], options?: NetnsSpawnOptions): ChildProcess;
  /** Kill every process in the run's namespaces, delete them and the files. Idempotent, synchronous. */
  dispose(): void;
}

/** Thrown when network namespaces cannot be used here (not root, no iproute2, not Linux). */
export class NetnsUnavailableError extends RendezvousError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RDV_ERR_UNSUPPORTED', message, options);
  }
}

/** Check that namespaces can be made here; throws NetnsUnavailableError saying why not. */
export function assertNetnsAvailable(options: NetnsClusterOptions = {}): void {
  if (process.platform !== 'linux') {
    throw new NetnsUnavailableError(`network-namespace pods need Linux; this is ${process.platform}`);
  }
  const uid = options.uid ?? process.getuid?.();
  if (uid !== 0) {
    throw new NetnsUnavailableError(
      `network-namespace pods need root (running as uid ${uid}); run as root, or use the loopback simulation without --netns`,
    );
  }
  const ip = options.ip ?? 'ip';
  const r = spawnSync(ip, ['-V'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new NetnsUnavailableError(
      `network-namespace pods need iproute2: ${JSON.stringify(ip)} ${r.error ? `could not run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` : `exited ${r.status}`}; install it (apt-get install iproute2)`,
      { cause: r.error },
    );
  }
  for (const tool of ['unshare', 'hostname']) {
    const t = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (t.error) {
      throw new NetnsUnavailableError(
        `network-namespace pods need ${tool} (util-linux / hostname): ${t.error.message}`,
      );
    }
  }
}

/** The i-th pod address: 10.244.1.1, 10.244.1.2, … 10.244.1.250, 10.244.2.1, … */
export function podAddress(slot: number): string {
  if (!Number.isInteger(slot) || slot < 0 || slot >= 250 * 254) {
    throw new RangeError(`pod address slot ${slot} is outside 0-${250 * 254 - 1}`);
  }
  return `10.244.${1 + Math.floor(slot / 250)}.${1 + (slot % 250)}`;
}

/** Create the hub namespace with its bridge (after sweeping leftovers of dead runs with the same prefix). */
export async function createNetnsCluster(options: NetnsClusterOptions = {}): Promise<NetnsCluster> {
  const prefix = options.prefix ?? DEFAULT_NETNS_PREFIX;
  if (!/^[a-z][a-z0-9]{0,11}$/.test(prefix)) {
    throw new TypeError(
      `Expected \`prefix\` to be 1-12 lowercase letters and digits, got ${JSON.stringify(prefix)}`,
    );
  }
  assertNetnsAvailable(options);
  sweepNetns({ prefix, ip: options.ip });
  const ip = options.ip ?? 'ip';
  const id = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const hub = `${id}-hub`;
  const dir = mkdtempSync(join(tmpdir(), `${id}-`));
  const children = new Set<ChildProcess>();
  const pods: NetnsPod[] = [];
  let nextSlot = 0;
  let disposed = false;

  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    for (const child of children) killGroup(child);
    teardownRun(id, ip);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await ipBatch(ip, [`netns add ${hub}`]);
    await ipBatch(
      ip,
      [
        'link set lo up',
        `link add br0 address ${HUB_MAC} type bridge`,
        `addr add ${HUB_ADDRESS}/${PREFIX_LENGTH} dev br0`,
        `addr add ${DNS_ADDRESS}/${PREFIX_LENGTH} dev br0`,
        'link set br0 up',
      ],
      hub,
    );
    // The hub routes between pods (see addPods); no ICMP redirects, or pods would learn to talk on-link again.
    netnsSysctl(ip, hub, {
      'net/ipv4/ip_forward': '1',
      'net/ipv4/conf/all/send_redirects': '0',
      'net/ipv4/conf/br0/send_redirects': '0',
    });
  } catch (error) {
    dispose();
    throw error;
  }

  const spawnIn = (netns: string, argv: readonly string[], opts: NetnsSpawnOptions, hostname?: string) => {
    if (disposed) throw new Error('the namespace cluster was disposed');
    const script =
      (hostname === undefined ? '' : 'hostname "$1" || exit 70; ') +
      (opts.held === true ? 'echo >&3; exec 3>&-; read -r _ || exit 71; exec </dev/null; ' : '') +
      (opts.cpuFile === undefined
        ? 'shift 2; exec "$@"'
        : 'f=$2; shift 2; "$@"; rc=$?; times >"$f"; exit $rc');
    const wrapper = hostname === undefined ? [] : ['unshare', '--uts', '--'];
    const child = spawn(
      ip,
      [
        'netns',
        'exec',
        netns,
        ...wrapper,
        'sh',
        '-c',
        script,
        'pod',
        hostname ?? '-',
        opts.cpuFile ?? '-',
        ...argv,
      ],
      {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        stdio: opts.held === true ? heldStdio(opts.stdio) : (opts.stdio ?? 'pipe'),
        detached: true,
      },
    );
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };

  return {
    id,
    hub,
    dnsAddress: DNS_ADDRESS,
    dir,
    async addPods(specs) {
      const made: NetnsPod[] = specs.map((spec) => {
        const slot = nextSlot++;
        return {
          netns: `${id}-p${slot}`,
          hostname: spec.hostname,
          fqdn: spec.fqdn,
          address: spec.address ?? podAddress(slot),
        };
      });
      for (const [i, pod] of made.entries()) {
        const etc = join(NETNS_ETC_DIR, pod.netns);
        mkdirSync(etc, { recursive: true });
        writeFileSync(join(etc, 'hosts'), kubeletHosts(pod.address, pod.hostname, pod.fqdn));
        writeFileSync(join(etc, 'resolv.conf'), kubeletResolvConf(specs[i]!.search, DNS_ADDRESS));
      }
      pods.push(...made);
      const vethOf = (pod: NetnsPod) => `v${pod.netns.slice(id.length + 2)}`;
      await ipBatch(ip, [
        ...made.map((p) => `netns add ${p.netns}`),
        ...made.map((p) => `link add ${vethOf(p)} netns ${hub} type veth peer name eth0 netns ${p.netns}`),
      ]);
      await ipBatch(
        ip,
        [
          ...made.map((p) => `link set ${vethOf(p)} master br0 up`),
          // A recycled address: the hub's neighbour entry still names the removed pod's MAC, and frames to
          // the new holder would go nowhere until it went stale (a CNI re-creating the pod's route does this).
          ...made.filter((_, i) => specs[i]!.address !== undefined).map((p) => `neigh flush to ${p.address}`),
        ],
        hub,
      );
      await Promise.all(
        made.map((p) =>
          ipBatch(
            ip,
            // Routed like most CNIs (a /32, everything via the gateway): a pod's only neighbour is the hub.
            // With an on-link /16 every pod kept an ARP entry per peer, N² entries in the kernel's one
            // neighbour table shared by all namespaces (gc_thresh3, 1024 by default): from N≈32 on, new
            // entries were refused, ARP requests went unanswered and TCP connects timed out.
            [
              'link set lo up',
              `addr add ${p.address}/32 dev eth0`,
              'link set eth0 up',
              `route add ${HUB_ADDRESS} dev eth0 scope link`,
              `route add ${CLUSTER_CIDR} via ${HUB_ADDRESS} dev eth0`,
            ],
            p.netns,
          ),
        ),
      );
      return made;
    },
    removePod(pod) {
      killNetnsProcesses(pod.netns);
      spawnSync(ip, ['netns', 'delete', pod.netns], { stdio: 'ignore' });
      rmSync(join(NETNS_ETC_DIR, pod.netns), { recursive: true, force: true });
    },
    spawnInPod: (pod, argv, opts = {}) => spawnIn(pod.netns, argv, opts, pod.hostname),
    spawnInHub: (argv, opts = {}) => spawnIn(hub, argv, opts),
    dispose,
  };
}

// A held spawn's stdio: stdin the pipe the start line comes on, stdout and stderr as asked, fd 3 the pipe
// the child says on that it waits (untilHeld).
function heldStdio(stdio: SpawnOptions['stdio']): SpawnOptions['stdio'] {
  const [out, err] = Array.isArray(stdio) ? [stdio[1], stdio[2]] : [stdio ?? 'pipe', stdio ?? 'pipe'];
  return ['pipe', out ?? 'pipe', err ?? 'pipe', 'pipe'];
}

/**
 * Resolves once a child spawned with `held` waits for its start line (or ended: its exit is then the
 * caller's to see).
 */
export function untilHeld(child: ChildProcess): Promise<void> {
  const ready = child.stdio[3];
  if (ready === null || ready === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      ready.destroy();
      resolve();
    };
    ready.once('data', done);
    ready.once('close', done);
    ready.once('error', done);
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
}

// Set sysctls of one namespace (paths under /proc/sys, which shows the namespace of the writer).
function netnsSysctl(ip: string, netns: string, values: Readonly<Record<string, string>>): void {
  const script = Object.entries(values)
    .map(([key, value]) => `echo ${value} >/proc/sys/${key}`)
    .join(' && ');
  const r = spawnSync(ip, ['netns', 'exec', netns, 'sh', '-c', script], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new RendezvousError(
      'RDV_ERR_UNSUPPORTED',
      `could not set ${Object.keys(values).join(', ')} in namespace ${netns}: ${r.error?.message ?? r.stderr.trim()}`,
    );
  }
}

// Run `ip [-n netns] -batch -` with these lines; reject with ip's message when one fails.
function ipBatch(ip: string, lines: readonly string[], netns?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = [...(netns === undefined ? [] : ['-n', netns]), '-batch', '-'];
    const child = spawn(ip, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', (error) =>
      reject(new NetnsUnavailableError(`could not run ${ip}: ${error.message}`, { cause: error })),
    );
    child.once('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new RendezvousError(
            'RDV_ERR_UNSUPPORTED',
            `ip ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`,
          ),
        );
    });
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}
