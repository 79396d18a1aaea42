// The loopback placement: every pod on its own 127.<run>.<x>.<y> address (Linux routes all of 127/8 to lo),
// the project's ClusterDnsServer on 127.<run>.0.53, kubelet-style files in a temp directory. Any user.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterDnsServer, type DnsQueryEvent } from '../dns/server.js';
import { RendezvousError } from '../errors.js';
import { kubeletHosts, kubeletResolvConf } from './kubelet-files.js';
import type { DnsControl, Placement, PodSlot } from './placement.js';

/** Options of {@link createLoopbackPlacement}. */
export interface LoopbackOptions {
  readonly zone: string;
  /** Second octet of every address of the run (default: random 16-250, so parallel runs do not collide). */
  readonly octet?: number;
  readonly onQuery?: (event: DnsQueryEvent) => void;
  /** Cache mode of the DNS (CoreDNS `cache`), capped at this many seconds, zone TTL the same. Default off. */
  readonly cacheSeconds?: number | undefined;
}

/** The address of incarnation `slot` of a run: 127.<octet>.1.1, 127.<octet>.1.2, … */
export function loopbackAddress(octet: number, slot: number): string {
  return `127.${octet}.${1 + Math.floor(slot / 250)}.${1 + (slot % 250)}`;
}

/** Start the DNS server on loopback and return the placement. Linux only (127/8 on lo). */
export async function createLoopbackPlacement(options: LoopbackOptions): Promise<Placement> {
  if (process.platform !== 'linux') {
    throw new RendezvousError(
      'RDV_ERR_UNSUPPORTED',
      `simulate gives every pod its own 127.x.y.z address, which needs Linux (all of 127/8 on lo); on ${process.platform} only 127.0.0.1 exists`,
    );
  }
  const octet = options.octet ?? randomInt(16, 251);
  const dnsHost = `127.${octet}.0.53`;
  const server = await ClusterDnsServer.start({
    host: dnsHost,
    port: 0,
    zone: options.zone,
    ...(options.onQuery === undefined ? {} : { onQuery: options.onQuery }),
    ...(options.cacheSeconds === undefined
      ? {}
      : { ttl: options.cacheSeconds, cacheSeconds: options.cacheSeconds }),
  });
  const agentPort = await freePort(`127.${octet}.0.1`);
  const dir = mkdtempSync(join(tmpdir(), 'peer-rendezvous-sim-'));
  const children = new Set<ChildProcess>();
  let next = 0;
  let closed = false;
  const dns: DnsControl = {
    addService: async (spec) => server.addService(spec),
    setPod: async (spec) => server.setPod(spec),
    removePod: async (ref) => {
      server.removePod(ref);
    },
    setFaults: async (faults) => server.setFaults(faults),
    queries: async () => server.stats().total,
    ...(options.cacheSeconds === undefined ? {} : { cacheHits: async () => server.stats().cacheHits }),
    close: () => server.close(),
  };
  return {
    kind: 'loopback',
    dns,
    dnsLabel: `${server.address.host}:${server.address.port}${options.cacheSeconds === undefined ? '' : ` (caching ${options.cacheSeconds} s, like CoreDNS cache)`}`,
    agentPort,
    async allocate(index, hostname, fqdn, search) {
      const slot = next++;
      const address = loopbackAddress(octet, slot);
      const podDir = join(dir, `${hostname}-${slot}`);
      mkdirSync(podDir);
      const hosts = join(podDir, 'hosts');
      const resolv = join(podDir, 'resolv.conf');
      writeFileSync(hosts, kubeletHosts(address, hostname, fqdn));
      writeFileSync(resolv, kubeletResolvConf(search, dnsHost));
      const result: PodSlot = {
        index,
        hostname,
        address,
        agentFlags: [
          '--hostname',
          hostname,
          '--hosts-file',
          hosts,
          '--resolv-conf',
          resolv,
          '--namespace-file',
          join(podDir, 'namespace'),
          '--dns-server',
          `${server.address.host}:${server.address.port}`,
          '--listen',
          address,
        ],
      };
      return result;
    },
    spawn(_slot, argv, env) {
      const [file, ...args] = argv;
      if (file === undefined) throw new TypeError('Expected a command to spawn');
      const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    retire() {
      // Loopback addresses cannot disappear; the killed process no longer listens on it.
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const child of children) killGroup(child, 'SIGKILL');
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP port free on `host` right now (the agents of one run all listen on it, each on its own address). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Signal a child's whole process group (it was spawned detached); ignore one that is gone. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {}
}
