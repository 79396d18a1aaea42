// waitForPeers(): the library entry point. Options are copied and checked here, dependencies injected.

import { DEFAULT_PORT, DEFAULT_TIMEOUT_MS } from '../defaults.js';
import { DnsClient } from '../dns/client.js';
import { dnsClientOptionsFromResolvConf, dnsClientOptionsFromServerFlag } from '../dns/client-options.js';
import { ipFamily } from '../dns/ip-bytes.js';
import type { Resolver } from '../dns/types.js';
import { MAX_DURATION_MS } from '../duration.js';
import { ConfigError, quote, UsageError } from '../errors.js';
import { discoverIdentity, type Identity, type IdentityOptions } from '../identity/identity.js';
import { DEFAULT_PATHS, type SourceOverrides } from '../identity/sources.js';
import { DEFAULT_RELEASED_AFTER_MS } from './after-release.js';
import { type AgentStats, type PeerAddressMode, type ProgressEvent, runAgent } from './agent.js';
import { checkTokenLength } from './auth.js';
import { type Clock, clockWithNow } from './clock.js';
import type { Mesh } from './types.js';
import { parseVerifyMode, type VerifyMode } from './verify.js';

/** Options of waitForPeers(). Identity options are discovered when absent (see discoverIdentity). */
export interface WaitForPeersOptions extends IdentityOptions {
  /** Rendezvous port, the same on every pod (default 29600). */
  port?: number;
  /** Address to listen on (default: all). A specific address is also used as the source of connections. */
  listen?: string;
  /** What "ready" means (default star). */
  verify?: VerifyMode | string;
  /** Give up after this many ms with RDV_ERR_TIMEOUT (default 600000). */
  timeoutMs?: number;
  /** `host:port[,host:port]`; default: the nameservers of resolv.conf. */
  dnsServer?: string;
  /** Paths of the pod's files (defaults: the kubelet's). */
  hostsFile?: string;
  resolvConf?: string;
  namespaceFile?: string;
  /** Downward-API volume with `labels`/`annotations` (default /etc/podinfo). */
  podinfoDir?: string;
  /** MPI hostfile (default /etc/mpi/hostfile). */
  mpiHostfile?: string;
  /** Volcano's `<task>.host` directory (default /etc/volcano). */
  volcanoDir?: string;
  /** Shared secret: HMAC-SHA256 challenge–response in both directions (the dialler first); never sent. Not ''. */
  token?: string;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * What the exports will carry for each pod (default `fqdn`): with `ip`, the addresses the barrier proved by
   * handshake, and the barrier asks DNS only to find the coordinator — it never waits for a per-pod record.
   */
  peerAddress?: PeerAddressMode;
  /** Per-connection handshake deadline (default 5000 ms). */
  handshakeTimeoutMs?: number;
  /** How long the coordinator waits for acks after release (default 2000 ms). */
  releaseGraceMs?: number;
  /**
   * Peers' names resolve but their agents refuse connections this long → the job was released without this
   * pod: RDV_ERR_RELEASED (default 30000 ms; 0: wait until the timeout instead).
   */
  releasedAfterMs?: number;
}

/** Injected dependencies; every field has a real default. */
export interface WaitDependencies {
  sources?: SourceOverrides;
  /** A resolver to use instead of one built from dnsServer / resolv.conf (not closed by waitForPeers). */
  resolver?: Resolver;
  now?: () => number;
  /** Time and timers for the agent (default: the system's, with `now` if given). */
  clock?: Clock;
  random?: () => number;
  /** An identity already discovered (the CLI discovers it first to print warnings); skips discovery. */
  identity?: Identity;
}

/** What waitForPeers resolves to: the released mesh, with the identity it was computed for and counters. */
export interface WaitResult extends Mesh {
  readonly identity: Identity;
  readonly stats: AgentStats;
}

const KNOWN = new Set([
  'provider',
  'jobsetTopology',
  'replicas',
  'ordinalsStart',
  'volcanoTasks',
  'podinfoDir',
  'mpiHostfile',
  'volcanoDir',
  'index',
  'completions',
  'jobName',
  'subdomain',
  'namespace',
  'clusterDomain',
  'peers',
  'hostname',
  'origins',
  'port',
  'listen',
  'verify',
  'timeoutMs',
  'dnsServer',
  'hostsFile',
  'resolvConf',
  'namespaceFile',
  'token',
  'signal',
  'onProgress',
  'handshakeTimeoutMs',
  'releaseGraceMs',
  'peerAddress',
  'releasedAfterMs',
]);

/** Wait until every pod of the job is ready, then resolve to the roster every pod agrees on. */
export async function waitForPeers(
  options: WaitForPeersOptions = {},
  deps: WaitDependencies = {},
): Promise<WaitResult> {
  const opts = normalizeOptions(options);
  const identity =
    deps.identity ??
    discoverIdentity(opts, {
      ...deps.sources,
      paths: {
        hosts: opts.hostsFile ?? deps.sources?.paths?.hosts ?? DEFAULT_PATHS.hosts,
        resolvConf: opts.resolvConf ?? deps.sources?.paths?.resolvConf ?? DEFAULT_PATHS.resolvConf,
        namespace: opts.namespaceFile ?? deps.sources?.paths?.namespace ?? DEFAULT_PATHS.namespace,
        podinfo: opts.podinfoDir ?? deps.sources?.paths?.podinfo ?? DEFAULT_PATHS.podinfo,
        mpiHostfile: opts.mpiHostfile ?? deps.sources?.paths?.mpiHostfile ?? DEFAULT_PATHS.mpiHostfile,
        volcano: opts.volcanoDir ?? deps.sources?.paths?.volcano ?? DEFAULT_PATHS.volcano,
      },
    });
  const clock = deps.clock ?? clockWithNow(deps.now ?? Date.now);
  const ownResolver = deps.resolver === undefined;
  const resolver = deps.resolver ?? createResolver(identity, opts);
  try {
    const { mesh, stats } = await runAgent({
      index: identity.index.value,
      completions: identity.completions.value,
      peers: identity.peers,
      jobKey: identity.jobKey,
      // The hint names the Job label only for an Indexed Job: other controllers label their pods otherwise.
      jobName: identity.mode === 'job' ? identity.jobName?.value : undefined,
      serviceName: headlessService(identity),
      port: opts.port,
      listen: opts.listen,
      verify: opts.verify,
      token: opts.token,
      deadline: clock.now() + opts.timeoutMs,
      resolver,
      signal: opts.signal ?? new AbortController().signal,
      onProgress: opts.onProgress,
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
      releaseGraceMs: opts.releaseGraceMs,
      peerAddress: opts.peerAddress,
      selfAddress:
        identity.hostsEntry?.address ??
        (opts.listen !== undefined && opts.listen !== '0.0.0.0' && opts.listen !== '::'
          ? opts.listen
          : undefined),
      releasedAfterMs: opts.releasedAfterMs,
      clock,
      random: deps.random ?? Math.random,
    });
    return { ...mesh, identity, stats };
  } finally {
    if (ownResolver) await resolver.close();
  }
}

type Normalized = Omit<
  WaitForPeersOptions,
  | 'port'
  | 'verify'
  | 'timeoutMs'
  | 'handshakeTimeoutMs'
  | 'releaseGraceMs'
  | 'peerAddress'
  | 'releasedAfterMs'
> & {
  peerAddress: PeerAddressMode;
  port: number;
  verify: VerifyMode;
  timeoutMs: number;
  handshakeTimeoutMs: number;
  releaseGraceMs: number;
  releasedAfterMs: number;
};

/** Copy and check the options (the caller's object is never changed); unknown keys are a UsageError. */
export function normalizeOptions(options: WaitForPeersOptions): Normalized {
  if (typeof options !== 'object' || options === null)
    throw new UsageError('Expected `options` to be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      const near = [...KNOWN].find((k) => k.toLowerCase() === key.toLowerCase().replace(/[-_]/g, ''));
      throw new UsageError(`Unknown option \`${key}\`${near ? `; did you mean \`${near}\`?` : ''}`);
    }
  }
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(
      `port ${quote(port)} from ${options.origins?.index ? 'options' : 'option port'} is not valid: expected an integer from 1 to 65535`,
      {
        value: String(port),
        source: 'option port',
      },
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_DURATION_MS) {
    throw new ConfigError(
      `timeout ${quote(timeoutMs)} is not valid: expected a number of milliseconds from 0 to ${MAX_DURATION_MS}`,
      { value: String(timeoutMs), source: 'option timeoutMs' },
    );
  }
  if (options.token === '') {
    throw new ConfigError('token is empty: expected the shared secret, or leave `token` unset for none', {
      value: '',
      source: 'option token',
    });
  }
  if (options.token !== undefined) checkTokenLength(options.token, 'option token');
  if (options.listen !== undefined && ipFamily(options.listen) === 0) {
    throw new ConfigError(`listen address ${quote(options.listen)} is not an IP address`, {
      value: options.listen,
      source: 'option listen',
    });
  }
  const releasedAfterMs = options.releasedAfterMs ?? DEFAULT_RELEASED_AFTER_MS;
  if (!Number.isFinite(releasedAfterMs) || releasedAfterMs < 0 || releasedAfterMs > MAX_DURATION_MS) {
    throw new ConfigError(
      `releasedAfterMs ${quote(releasedAfterMs)} is not valid: expected a number of milliseconds from 0 to ${MAX_DURATION_MS} (0: off)`,
      { value: String(releasedAfterMs), source: 'option releasedAfterMs' },
    );
  }
  const verify =
    typeof options.verify === 'string' || options.verify === undefined
      ? parseVerifyMode(options.verify ?? 'star')
      : options.verify;
  const peerAddress = options.peerAddress ?? 'fqdn';
  if (peerAddress !== 'fqdn' && peerAddress !== 'ip') {
    throw new ConfigError(`peer address ${quote(peerAddress)} is not valid: expected fqdn or ip`, {
      value: String(peerAddress),
      source: 'option peerAddress',
    });
  }
  return {
    ...options,
    peerAddress,
    port,
    verify,
    timeoutMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5000,
    releaseGraceMs: options.releaseGraceMs ?? 2000,
    releasedAfterMs,
  };
}

/** A DnsClient for --dns-server, else for the nameservers of the pod's resolv.conf. */
export function createResolver(
  identity: Identity,
  opts: Pick<WaitForPeersOptions, 'dnsServer' | 'resolvConf'>,
): Resolver {
  if (identity.peers.every((p) => ipFamily(p) !== 0)) return noResolver;
  if (opts.dnsServer !== undefined && opts.dnsServer !== '') {
    return new DnsClient(dnsClientOptionsFromServerFlag(opts.dnsServer, 'option dnsServer'));
  }
  const path = opts.resolvConf ?? DEFAULT_PATHS.resolvConf;
  if (identity.resolvConf === undefined) {
    throw new ConfigError(
      `${path} could not be read and no DNS server was given: pass --dns-server host:port`,
      { source: path },
    );
  }
  // resolv.conf's timeout:/attempts: are for one blocking getaddrinfo; our own retry loop follows, so one
  // question never holds a lookup longer than 2 s.
  const conf = dnsClientOptionsFromResolvConf(identity.resolvConf, path);
  return new DnsClient({ ...conf, timeoutMs: Math.min(conf.timeoutMs ?? 2000, 2000) });
}

/** Used when every peer is an IP literal: nothing to resolve. */
const noResolver: Resolver = {
  query: () => Promise.reject(new ConfigError('no DNS server configured')),
  close: () => {},
};

/**
 * The headless Service whose A answer lists the peers (evidence that their records exist, discovery of a late
 * coordinator's members): the pod's subdomain, when every peer name lies under it and the Service selects
 * just the peers — an Indexed Job always, JobSet, StatefulSet, Trainer, mpi-operator, LWS with
 * UniquePerReplica. None for an explicit list of IPs or names elsewhere.
 */
export function headlessService(identity: Identity): string | undefined {
  if (identity.subdomain === undefined || identity.namespace === undefined) return undefined;
  const service = `${identity.subdomain.value}.${identity.namespace.value}.svc.${identity.clusterDomain.value}.`;
  if (identity.mode === 'job') return service;
  // Only where the Service selects exactly the peers: LWS' default (Shared) Service selects every group and
  // Volcano's every task, so their answers would hold pods of other barriers.
  const provider = identity.provider.value;
  if (provider === 'volcano') return undefined;
  if (provider === 'lws' && identity.peers[0]?.split('.')[0] !== identity.subdomain.value) return undefined;
  const under = (name: string): boolean => name.toLowerCase().endsWith(`.${service.toLowerCase()}`);
  return identity.peers.length > 0 && identity.peers.every(under) ? service : undefined;
}
