// A simulated Indexed Job on loopback: the project's DNS server, one 127.0.x.y address per pod, one port.
import { createServer } from 'node:net';
import { DnsClient } from '../../src/dns/client.js';
import { ClusterDnsServer } from '../../src/dns/server.js';
import type { ClusterDnsServerOptions } from '../../src/dns/server-options.js';
import type { WaitForPeersOptions } from '../../src/rendezvous/wait.js';

export const JOB = 'example-job';
export const SVC = 'headless-svc';
export const NS = 'default';

/** A port free on 127.0.0.1 (and, in practice, on the other 127/8 addresses). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Pod i's loopback address in a test's own 127.<block>.0/24: each test file picks a distinct block. */
export function podIp(block: number, index: number, generation = 0): string {
  return `127.${block}.${generation}.${index + 1}`;
}

export interface LoopbackJob {
  readonly dns: ClusterDnsServer;
  readonly port: number;
  readonly n: number;
  readonly dnsServer: string;
  /** Options for pod i (identity flags, listen address, port, DNS server). */
  options(index: number, extra?: Partial<WaitForPeersOptions>, generation?: number): WaitForPeersOptions;
  /** Publish pod i's record with its address. */
  publish(index: number, generation?: number, ready?: boolean): void;
  withdraw(index: number): void;
  client(): DnsClient;
  close(): Promise<void>;
}

/** Start the DNS server with the headless Service, nothing published yet. */
export async function loopbackJob(
  n: number,
  block: number,
  serviceOptions: { publishNotReadyAddresses?: boolean } = {},
  dnsOptions: Omit<ClusterDnsServerOptions, 'host' | 'port'> = {},
): Promise<LoopbackJob> {
  const dns = await ClusterDnsServer.start({ host: '127.0.0.1', port: 0, ttl: 5, ...dnsOptions });
  dns.addService({ name: SVC, namespace: NS, ...serviceOptions });
  const port = await freePort();
  const dnsServer = `${dns.address.host}:${dns.address.port}`;
  return {
    dns,
    port,
    n,
    dnsServer,
    options: (index, extra = {}, generation = 0) => ({
      index,
      completions: n,
      jobName: JOB,
      subdomain: SVC,
      namespace: NS,
      clusterDomain: 'cluster.local',
      hostname: `${JOB}-${index}`,
      listen: podIp(block, index, generation),
      port,
      dnsServer,
      timeoutMs: 20_000,
      hostsFile: '/nonexistent/hosts',
      resolvConf: '/nonexistent/resolv.conf',
      namespaceFile: '/nonexistent/namespace',
      ...extra,
    }),
    publish: (index, generation = 0, ready = true) =>
      dns.setPod({
        hostname: `${JOB}-${index}`,
        subdomain: SVC,
        namespace: NS,
        addresses: [podIp(block, index, generation)],
        ready,
      }),
    withdraw: (index) => {
      dns.removePod({ hostname: `${JOB}-${index}`, subdomain: SVC, namespace: NS });
    },
    client: () => new DnsClient({ servers: [dns.address], timeoutMs: 1000, attempts: 1 }),
    close: () => dns.close(),
  };
}

/** CLI flags for pod i of a loopback job (the same identity and network options() gives the library). */
export function podFlags(j: LoopbackJob, i: number): string[] {
  const o = j.options(i);
  return [
    ...['--index', String(i), '--completions', String(j.n), '--job-name', JOB, '--subdomain', SVC],
    ...['--namespace', NS, '--cluster-domain', 'cluster.local', '--hostname', `${JOB}-${i}`],
    ...[
      '--listen',
      String(o.listen),
      '--port',
      String(o.port),
      '--dns-server',
      j.dnsServer,
      '--timeout',
      '20s',
    ],
    ...['--hosts-file', '/nonexistent/hosts', '--resolv-conf', '/nonexistent/resolv.conf'],
    ...['--namespace-file', '/nonexistent/namespace', '--progress-interval', '0'],
  ];
}
