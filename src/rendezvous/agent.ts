// One rendezvous agent: listener, dialer, state table, and the role it plays (coordinator, member, one-sided).
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import pRetry from 'p-retry';
import { ipFamily } from '../dns/ip-bytes.js';
import type { Resolver } from '../dns/types.js';
import { AbortedError, ConfigError } from '../errors.js';
import { Admission, FIRST_FRAME_MS, MAX_PENDING_PER_SOURCE, maxPending } from './admission.js';
import { RefusalWatch, ReleasedWithoutThisPodError } from './after-release.js';
import {
  type BackoffPolicy,
  BLIND_POLL,
  backoffDelay,
  CONNECT_RETRY,
  DISCOVERY_POLL,
  discoveryPoll,
  LIVE_POLL,
  livePoll,
} from './backoff.js';
import { Channel, MAX_MEMBER_FRAME, maxReleaseFrame } from './channel.js';
import { RendezvousTimeoutError } from './errors.js';
import { encodeFrame, ProtocolError } from './frames.js';
import {
  accept,
  announceTo,
  HandshakeError,
  initiate,
  type Refusal,
  type WireIdentity,
} from './handshake.js';
import { Limiter } from './limiter.js';
import { type AddressLookup, LookupGate, resolveUntil } from './lookup.js';
import {
  type Hello,
  MAX_ADDRESSES_PER_POD,
  PROTOCOL_VERSION,
  type Release,
  type RosterEntry,
  releaseProblem,
} from './messages.js';
import { hintsFor, type PeerReport, type PeerStateKind } from './peer-state.js';
import { sleep, Waker } from './sleep.js';
import type { Mesh, PeerInfo } from './types.js';
import type { VerifyMode } from './verify.js';
import { MAX_WARNED, shedWarning, WarnOnce } from './warn-once.js';

/**
 * The reason of every internal stop (a session or a probe that ended): one object for all. abort() without a
 * reason builds a DOMException with a stack trace each time, N² of them when a mesh of N pods releases.
 */
const SESSION_ENDED = new AbortedError('session ended');

/** Everything one agent needs; built by waitForPeers from options and injected dependencies. */
export interface AgentConfig {
  readonly index: number;
  readonly completions: number;
  /** Absolute peer names (or IP literals) in index order. */
  readonly peers: readonly string[];
  readonly jobKey: string;
  readonly jobName: string | undefined;
  /** The headless Service's absolute name, for discovery by the coordinator (job mode only). */
  readonly serviceName: string | undefined;
  readonly port: number;
  /** Address to listen on; undefined = every address. A specific address is also the source of our connections. */
  readonly listen: string | undefined;
  readonly verify: VerifyMode;
  readonly token: string | undefined;
  /** Epoch ms after which the agent gives up with RDV_ERR_TIMEOUT. */
  readonly deadline: number;
  readonly resolver: Resolver;
  readonly signal: AbortSignal;
  readonly onProgress: ((event: ProgressEvent) => void) | undefined;
  readonly handshakeTimeoutMs: number;
  readonly releaseGraceMs: number;
  /**
   * `fqdn` (default): exports carry names, so the barrier checks every name resolves to the address it proved.
   * `ip`: exports carry the proven addresses; names are only a way to find the coordinator.
   */
  readonly peerAddress?: PeerAddressMode | undefined;
  /** This pod's own address when known before any connection (the hosts file's line, or --listen). */
  readonly selfAddress?: string | undefined;
  /** Refused connections from live names this long mean "released without this pod" (0: never). */
  readonly releasedAfterMs: number;
  readonly now: () => number;
  readonly random: () => number;
}

/** What `onProgress` receives. */
export type ProgressEvent =
  | { readonly type: 'peer'; readonly peer: PeerReport }
  | { readonly type: 'listening'; readonly address: string; readonly port: number }
  | { readonly type: 'joined'; readonly coordinator: string }
  | { readonly type: 'status'; readonly ready: number; readonly total: number }
  | { readonly type: 'released'; readonly generation: string }
  /** Something this agent cannot tie to a peer, e.g. an agent of another release dialled in. */
  | { readonly type: 'warning'; readonly message: string };

/** What the exports carry for each pod: its name or the address the barrier proved. */
export type PeerAddressMode = 'fqdn' | 'ip';

/**
 * Evidence rule (ARCHITECTURE.md, "Never poison a name"): a pod's own name is first asked once the headless
 * Service's answer holds the pod's address, or this long after the pod showed it is alive (a main container's
 * pod is Ready about a second after it starts; with publishNotReadyAddresses the record comes before).
 */
export const RECORD_GRACE_MS = 2000;

/**
 * When records are seen to come before their pods connect (publishNotReadyAddresses), a joined pod's name is
 * asked this long after it joined even without the Service showing it (a cached Service answer may be older).
 */
const LEAD_GRACE_MS = 300;

/** A Service that still leaves out a running pod's address this long after the pod started publishes only Ready pods. */
const READY_ONLY_AFTER_MS = 3000;

/** Counters for benchmarks and the final timing line. */
export interface AgentStats {
  dnsQueries: number;
  connections: number;
}

/** The state shared by the roles of one agent. */
class AgentCore {
  readonly cfg: AgentConfig;
  readonly gate: LookupGate;
  readonly wire: WireIdentity;
  readonly startedAt: number;
  readonly states = new Map<number, PeerReport>();
  readonly stats: AgentStats = { dnsQueries: 0, connections: 0 };
  readonly #channels = new Set<Channel>();
  readonly #sockets = new Set<Socket>();
  /** Addresses already reported as speaking another protocol version (at most MAX_WARNED). */
  readonly #versionWarned = new WarnOnce();
  /** Addresses already warned about for shed connections (at most MAX_WARNED). */
  readonly #shedWarned = new WarnOnce();
  readonly #abort = new AbortController();
  readonly signal: AbortSignal;
  /** Rejects once the caller's signal fires; its listener is removed at shutdown. */
  readonly #aborted: Promise<never>;
  #dropAbortListener: () => void = () => {};
  server: Server | undefined;
  readyAt: number | undefined;
  /** This pod's address as the others see it (known from the start, or from the first connection). */
  selfAddress: string | undefined;
  /** The latest answer for the headless Service name, and when it came. */
  service: { addresses: ReadonlySet<string>; at: number; ttl: number; authoritative: boolean } | undefined;
  /** Answers of the Service name received after this time were fetched after the pod had run a while. */
  #serviceFreshAfter: number | undefined;
  #readyOnlyWarned = false;
  readonly #serviceWaiters = new Set<() => void>();

  constructor(cfg: AgentConfig) {
    this.cfg = cfg;
    this.startedAt = cfg.now();
    this.selfAddress = cfg.selfAddress;
    this.signal = AbortSignal.any([cfg.signal, this.#abort.signal]);
    this.gate = new LookupGate(
      cfg.resolver,
      Math.min(BLIND_POLL.floor, LIVE_POLL.floor),
      cfg.now,
      this.signal,
    );
    this.#aborted = new Promise<never>((_, reject) => {
      const fire = (): void => reject(asAbort(cfg.signal.reason));
      if (cfg.signal.aborted) fire();
      else {
        cfg.signal.addEventListener('abort', fire, { once: true });
        this.#dropAbortListener = () => cfg.signal.removeEventListener('abort', fire);
      }
    });
    // Nobody may be racing it at the moment it fires (e.g. between two phases): never an unhandled rejection.
    this.#aborted.catch(() => {});
    this.wire = {
      job: cfg.jobKey,
      index: cfg.index,
      incarnation: randomBytes(8).toString('hex'),
      token: cfg.token,
    };
  }

  get peerAddress(): PeerAddressMode {
    return this.cfg.peerAddress ?? 'fqdn';
  }

  /** Whether the barrier must check `index`'s name (fqdn exports carry it; IP literals need no lookup). */
  checksName(index: number): boolean {
    return this.peerAddress === 'fqdn' && ipFamily(this.fqdn(index)) === 0;
  }

  /** Ask the headless Service name once (its denial does not stop later questions); note what it holds. */
  async askService(): Promise<AddressLookup | undefined> {
    const name = this.cfg.serviceName;
    if (name === undefined) return undefined;
    const lookup = await this.gate
      .addresses(name, this.signal, { respectDenial: false })
      .catch(() => undefined);
    if (!lookup) return undefined;
    const now = this.cfg.now();
    this.service = {
      addresses: new Set(lookup.addresses),
      at: now,
      ttl: lookup.ttl ?? 0,
      authoritative: lookup.authoritative === true,
    };
    this.#checkReadyOnly(lookup, now);
    for (const w of [...this.#serviceWaiters]) w();
    return lookup;
  }

  /** Wake every nextService() waiter now (something else they wait for changed). */
  poke(): void {
    for (const w of [...this.#serviceWaiters]) w();
  }

  /** Whether the latest Service answer holds `address`. */
  servicePublishes(address: string | undefined): boolean {
    return address !== undefined && this.service?.addresses.has(address) === true;
  }

  /** Resolves at the next Service answer, at `until`, or on abort of `signal` (whichever first). */
  nextService(until: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#serviceWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, until - this.cfg.now()));
      this.#serviceWaiters.add(done);
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Point 4: a Service that publishes only Ready pods. Said once, when an answer that must have been fetched
   * after this pod had run READY_ONLY_AFTER_MS (a cache may hold an older one for its TTL) leaves it out.
   */
  #checkReadyOnly(lookup: AddressLookup, now: number): void {
    const self = this.selfAddress;
    if (this.#readyOnlyWarned || self === undefined || lookup.addresses.length === 0) return;
    if (lookup.addresses.includes(self)) {
      this.#serviceFreshAfter = Number.POSITIVE_INFINITY; // published: nothing to say, ever
      return;
    }
    if (now - this.startedAt < READY_ONLY_AFTER_MS) return;
    if (this.#serviceFreshAfter === undefined) {
      // This answer may come from a cache filled before we started (unless the zone's server gave it, AA):
      // the next one after its TTL cannot.
      const ttl = lookup.authoritative === true ? 0 : (lookup.ttl ?? 0);
      this.#serviceFreshAfter = now + ttl * 1000;
      if (ttl > 0) return;
    }
    if (now < this.#serviceFreshAfter) return;
    this.#readyOnlyWarned = true;
    this.cfg.onProgress?.({
      type: 'warning',
      message: `the headless Service ${this.cfg.serviceName} answers ${lookup.addresses.length} address(es) but not this pod's ${self}, ${Math.round((now - this.startedAt) / 1000)} s after it started: it publishes only Ready pods. Set publishNotReadyAddresses: true on it, so each pod's record exists from the time it has an IP (the barrier's handshake is the readiness gate, and a name asked before its record exists stays denied for the DNS cache's negative TTL)`,
    });
  }

  fqdn(index: number): string {
    return this.cfg.peers[index]!;
  }

  /** Record a peer's state; report it when it changed. */
  setState(index: number, state: PeerStateKind, detail = '', seenBy: 'self' | 'coordinator' = 'self'): void {
    const old = this.states.get(index);
    if (old && old.state === state && old.detail === detail) return;
    const since = old && old.state === state ? old.since : this.cfg.now();
    const peer: PeerReport = { index, fqdn: this.fqdn(index), state, detail, since, seenBy };
    this.states.set(index, peer);
    this.cfg.onProgress?.({ type: 'peer', peer });
  }

  /** The source address for our connections: the listen address when it is a specific one. */
  localAddressFor(target: string): string | undefined {
    const l = this.cfg.listen;
    if (l === undefined || l === '0.0.0.0' || l === '::' || ipFamily(l) === 0) return undefined;
    return ipFamily(l) === ipFamily(target) ? l : undefined;
  }

  /** Listen on port/listen; inbound connections go through the handshake, then to `onAccepted`. */
  async listen(
    admit: (hello: Hello) => Refusal | undefined,
    onAccepted: (channel: Channel, hello: Hello) => void,
  ): Promise<void> {
    // Pending handshakes are capped per source and in all; over a cap the oldest is shed (admission.ts).
    const admission = new Admission(
      maxPending(this.cfg.completions),
      MAX_PENDING_PER_SOURCE,
      (source, why) => {
        const say = this.#shedWarned.take(source);
        if (say === undefined) return;
        this.cfg.onProgress?.({ type: 'warning', message: shedWarning(say, source, why) });
      },
      this.cfg.now,
    );
    const server = createServer((socket) => {
      this.#track(socket);
      const channel = this.track(new Channel(socket, MAX_MEMBER_FRAME));
      const pending = admission.admit(channel);
      const now = this.cfg.now();
      const deadlines = {
        hello: now + Math.min(FIRST_FRAME_MS, this.cfg.handshakeTimeoutMs),
        end: now + this.cfg.handshakeTimeoutMs,
      };
      accept(channel, this.wire, admit, deadlines, pending.spoke).then(
        (hello) => {
          pending.done();
          onAccepted(channel, hello);
        },
        () => {
          pending.done();
          const closed = channel.closed;
          // Unparsed, the dialler's index is unknown: say it once per address, as a warning.
          const say = closed?.kind === 'version' && this.#versionWarned.take(channel.remoteAddress);
          if (say) {
            this.cfg.onProgress?.({
              type: 'warning',
              message:
                say === 'warn'
                  ? `${channel.remoteAddress} dialled in with another protocol: ${closed.message}`
                  : `more than ${MAX_WARNED} addresses dialled in with another protocol (${channel.remoteAddress} and others): not said again`,
            });
          }
          channel.close();
        },
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        const where = `${this.cfg.listen ?? '*'}:${this.cfg.port}`;
        reject(
          new ConfigError(
            error.code === 'EADDRINUSE'
              ? `port ${this.cfg.port} is already in use on ${where}: pick another --port (every pod must use the same one)`
              : `cannot listen on ${where}: ${error.message}`,
            { value: String(this.cfg.port), source: 'option port', cause: error },
          ),
        );
      });
      // The backlog must hold every member connecting at once, and a burst of idle connections besides: a full
      // accept queue drops SYNs, and a member's dropped SYN is retried only after 1 s (the kernel caps it at
      // net.core.somaxconn, 4096 by default).
      server.listen(
        { port: this.cfg.port, host: this.cfg.listen, backlog: Math.max(4096, this.cfg.completions + 64) },
        () => {
          server.removeAllListeners('error');
          server.on('error', () => {});
          resolve();
        },
      );
    });
    const addr = server.address();
    if (addr && typeof addr === 'object')
      this.cfg.onProgress?.({ type: 'listening', address: addr.address, port: addr.port });
  }

  /** Dial `address:port`; rejects with a state to report when the connection fails. */
  dial(address: string, port: number, maxFrame: number): Promise<Channel> {
    this.stats.connections++;
    return new Promise((resolve, reject) => {
      const localAddress = this.localAddressFor(address);
      const socket = connect({ host: address, port, ...(localAddress ? { localAddress } : {}) });
      this.#track(socket);
      const timer = setTimeout(
        () => socket.destroy(new Error('connect timeout')),
        Math.min(3000, this.cfg.handshakeTimeoutMs),
      );
      const onAbort = (): void => {
        socket.destroy(new Error('aborted'));
      };
      this.signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        resolve(this.track(new Channel(socket, maxFrame)));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(
          new DialError(
            error.code === 'ECONNREFUSED' ? 'connection-refused' : 'unreachable',
            `${hostPort(address, port)} ${error.code ?? error.message}`,
          ),
        );
      });
    });
  }

  track(channel: Channel): Channel {
    this.#channels.add(channel);
    channel.onClose(() => this.#channels.delete(channel));
    return channel;
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /** Close the listener, every channel and socket, and stop every loop. */
  async shutdown(): Promise<void> {
    this.#dropAbortListener();
    this.#abort.abort(new AbortedError('agent finished'));
    const server = this.server;
    this.server = undefined;
    for (const c of [...this.#channels]) c.close({ kind: 'local', message: 'agent finished' });
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of [...this.#sockets]) s.destroy();
    this.stats.dnsQueries = this.gate.queries;
  }

  /** Reject with AbortedError (or the caller's reason) once the signal fires. */
  aborted(): Promise<never> {
    return this.#aborted;
  }

  /**
   * Is our own record published (for the hints)? Read from the Service's answer, never by asking our own name
   * (which would put a denial in the cluster's cache for every pod that asks after us).
   */
  async selfState(ms: number): Promise<PeerStateKind | undefined> {
    const self = this.fqdn(this.cfg.index);
    if (ipFamily(self) !== 0 || this.cfg.serviceName === undefined) return undefined;
    const lookup = await Promise.race([this.askService(), sleep(ms).then(() => undefined)]);
    if (!lookup) return undefined;
    if (lookup.addresses.length === 0) return lookup.state;
    if (this.selfAddress === undefined) return undefined;
    return lookup.addresses.includes(this.selfAddress) ? 'ready' : 'nodata';
  }

  /**
   * A peer never seen whose name's DNS question is still unanswered after a second is shown as a DNS timeout:
   * with `--timeout` shorter than the resolver's own timeout no answer (nor timeout) ever came back, and "not
   * seen yet" would hide that the DNS is silent.
   */
  silentDns(p: PeerReport, now: number): PeerReport {
    if (p.state !== 'unknown' || p.seenBy !== 'self') return p;
    // A peer whose name waits for evidence waits on the Service name's question.
    const service =
      this.cfg.serviceName === undefined ? undefined : this.gate.askedSince(this.cfg.serviceName);
    const own = this.gate.askedSince(p.fqdn);
    const since = own === undefined ? service : service === undefined ? own : Math.min(own, service);
    if (since === undefined || now - since < SILENT_DNS_MS) return p;
    return { ...p, state: 'dns-timeout', detail: 'question unanswered', since };
  }

  /** The timeout error: every unfinished peer's last state and the hints. */
  timeoutError(unfinished: () => PeerReport[], selfState: PeerStateKind | undefined): RendezvousTimeoutError {
    const now = this.cfg.now();
    const peers = unfinished().map((p) => this.silentDns(p, now));
    return new RendezvousTimeoutError({
      peers,
      hints: hintsFor(peers, {
        total: this.cfg.completions,
        selfState,
        service: this.cfg.serviceName,
        jobName: this.cfg.jobName,
        port: this.cfg.port,
      }),
      waitedMs: now - this.startedAt,
      total: this.cfg.completions,
      at: now,
    });
  }

  /**
   * A promise that rejects with the timeout error at the deadline. The diagnostic question about our own name
   * goes out shortly before, so the report is not late.
   */
  deadlineReached(unfinished: () => PeerReport[]): { promise: Promise<never>; cancel: () => void } {
    const timers: NodeJS.Timeout[] = [];
    let selfState: Promise<PeerStateKind | undefined> = Promise.resolve(undefined);
    const left = Math.max(0, this.cfg.deadline - this.cfg.now());
    const ask = Math.min(DIAGNOSTIC_MS, left);
    timers.push(setTimeout(() => (selfState = this.selfState(ask)), left - ask));
    const promise = new Promise<never>((_, reject) => {
      timers.push(
        setTimeout(() => {
          // Wait a moment for the diagnostic answer, never much past the deadline.
          const late = new Promise<undefined>((resolve) => setTimeout(resolve, 100, undefined));
          Promise.race([selfState, late]).then((state) => reject(this.timeoutError(unfinished, state)));
        }, left),
      );
    });
    return { promise, cancel: () => timers.forEach(clearTimeout) };
  }

  /** Roster entries from per-index addresses; names come from our own peer list. */
  roster(addresses: readonly (readonly string[])[]): RosterEntry[] {
    return addresses.map((a, index) => ({ index, fqdn: this.fqdn(index), addresses: [...a] }));
  }

  mesh(roster: readonly RosterEntry[], generation: string): Mesh {
    // Rosters are built in index order (see roster()); entries already have the PeerInfo shape.
    const peers: readonly PeerInfo[] = roster;
    const releasedMs = this.cfg.now() - this.startedAt;
    return {
      self: peers[this.cfg.index]!,
      peers,
      coordinator: peers[0]!,
      generation,
      peerAddress: this.peerAddress,
      port: this.cfg.port,
      timings: {
        startedAt: this.startedAt,
        readyMs: (this.readyAt ?? this.cfg.now()) - this.startedAt,
        releasedMs,
      },
    };
  }
}

/** How long before the deadline the agent asks about its own name, for the timeout hints. */
const DIAGNOSTIC_MS = 1000;
/** An unanswered question older than this, at the deadline, makes the report say "DNS timeout". */
const SILENT_DNS_MS = 1000;

/** A failed connection attempt and the state it means for the peer. */
export class DialError extends Error {
  readonly state: PeerStateKind;
  constructor(state: PeerStateKind, message: string) {
    super(message);
    this.state = state;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function hostPort(address: string, port: number): string {
  return ipFamily(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

function asAbort(reason: unknown): Error {
  if (reason instanceof AbortedError) return reason;
  return new AbortedError('rendezvous aborted', { cause: reason });
}

/** Map a handshake or dial failure to a peer state and a detail line. */
function failureState(error: unknown): { state: PeerStateKind; detail: string } {
  if (error instanceof DialError) return { state: error.state, detail: error.message };
  if (error instanceof HandshakeError) {
    switch (error.reason) {
      case 'auth':
        return { state: 'token-mismatch', detail: error.message };
      case 'version':
        return { state: 'version-mismatch', detail: error.message };
      case 'wrong-job':
      case 'wrong-index':
      case 'not-coordinator':
        return { state: 'wrong-identity', detail: error.message };
      // Shed by the peer's admission, or the connection dropped mid-handshake (a reset under load, a
      // restart): nothing is wrong with this pod or its configuration, it just tries again.
      case 'busy':
        return { state: 'busy', detail: error.message };
      case 'closed':
        return { state: 'busy', detail: `connection dropped during the handshake (${error.message})` };
      case 'timeout':
        return { state: 'busy', detail: 'connected, but no answer to the handshake in time' };
      default:
        return { state: 'protocol-error', detail: error.message };
    }
  }
  return { state: 'protocol-error', detail: error instanceof Error ? error.message : String(error) };
}

/** Run one agent to release (or timeout/abort), always cleaning up. */
export async function runAgent(cfg: AgentConfig): Promise<{ mesh: Mesh; stats: AgentStats }> {
  const core = new AgentCore(cfg);
  try {
    if (cfg.signal.aborted) throw asAbort(cfg.signal.reason);
    let mesh: Mesh;
    if (cfg.verify.kind === 'dns' || cfg.verify.kind === 'tcp')
      mesh = await runOneSided(core, cfg.verify.kind === 'tcp' ? cfg.verify.port : undefined);
    else if (cfg.index === 0) mesh = await runCoordinator(core);
    else mesh = await runMember(core);
    cfg.onProgress?.({ type: 'released', generation: mesh.generation });
    return { mesh, stats: core.stats };
  } finally {
    await core.shutdown();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Coordinator (index 0)

interface MemberSession {
  readonly index: number;
  readonly channel: Channel;
  readonly incarnation: string;
  readonly address: string;
  readonly stop: AbortController;
  readonly joinedAt: number;
  /** Since when the member's agent runs, as far as the coordinator knows (its join, or what `ready` said). */
  aliveSince: number;
  nameOk: boolean;
  dnsAddresses: readonly string[];
  ready: boolean;
  readyEpoch: number;
  /** Highest epoch of `peer` messages sent to this member (mesh). */
  sentEpoch: number;
  acked: boolean;
  /** Called once the member acked the release. */
  onDone: () => void;
}

/** A member's addresses in a release: the one it connected from first, then its DNS ones, capped. */
export function podAddresses(s: { address: string; dnsAddresses: readonly string[] }): string[] {
  return [s.address, ...s.dnsAddresses.filter((a) => a !== s.address)].slice(0, MAX_ADDRESSES_PER_POD);
}

async function runCoordinator(core: AgentCore): Promise<Mesh> {
  const { cfg } = core;
  const n = cfg.completions;
  const mesh = cfg.verify.kind === 'mesh';
  const sessions = new Map<number, MemberSession>();
  const announced = new Map<string, number>();
  const discoveryWaker = new Waker();
  // When a member last joined or left: discovery polls fast right after a change, slower when all is quiet.
  let lastChange = cfg.now();
  let epoch = 0;
  let released = false;
  let changed = true;
  // Records exist before their pods connect (a member's address was in the Service's answer when it joined):
  // a joined member's name can be asked at once.
  let recordsLead = false;
  // fqdn exports name the coordinator too: its own name must resolve to the address members reach it at.
  let ownNameOk = n === 1 || !core.checksName(0);
  let ownCheckStarted = false;
  let resolveDone!: (m: Mesh) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<Mesh>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // A restarted coordinator whose members' agents all refuse: they were released and run the workload.
  const refusals = new RefusalWatch(cfg.releasedAfterMs, cfg.now);
  let rejectVerdict!: (e: Error) => void;
  const verdict = new Promise<never>((_, reject) => {
    rejectVerdict = reject;
  });
  let releaseInfo: { generation: string; at: number } | undefined;
  let refuseRelease: (index: number, reason: string) => void = () => {};
  for (let i = 1; i < n; i++) core.setState(i, 'unknown');

  const readyCount = (): number => [...sessions.values()].filter((s) => isReady(s)).length;
  const isReady = (s: MemberSession): boolean =>
    s.nameOk && s.ready && (!mesh || s.readyEpoch === s.sentEpoch);

  const maybeRelease = (): void => {
    changed = true;
    if (released || !ownNameOk) return;
    for (let i = 1; i < n; i++) {
      const s = sessions.get(i);
      if (!s || !isReady(s)) return;
    }
    released = true;
    core.readyAt = cfg.now();
    const generation = randomBytes(8).toString('hex');
    releaseInfo = { generation, at: Date.now() };
    const first = sessions.values().next().value as MemberSession | undefined;
    const own =
      ipFamily(cfg.peers[0]!) !== 0 ? cfg.peers[0]! : (first?.channel.localAddress ?? core.selfAddress);
    const addresses: string[][] = [own ? [own] : []];
    for (let i = 1; i < n; i++) addresses.push(podAddresses(sessions.get(i)!));
    const release: Release = { v: PROTOCOL_VERSION, type: 'release', generation, addresses };
    // Members check the release with the same function: never send one they would refuse.
    const problem = releaseProblem(release, n);
    if (problem) {
      rejectDone(new ProtocolError(`cannot release: ${problem}`));
      return;
    }
    // One encoding for every member: the frame grows with N.
    const frame = encodeFrame(release);
    for (const s of sessions.values()) s.channel.sendFrame(frame);
    const roster = core.roster(addresses);
    // Return after every member acked (or closed), or after the grace period.
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(grace);
      resolveDone(core.mesh(roster, generation));
    };
    const grace = setTimeout(finish, cfg.releaseGraceMs);
    // A member that refuses the release says why (a `reject`): then nobody may start, this agent included.
    refuseRelease = (index, reason) => {
      if (finished) return;
      finished = true;
      clearTimeout(grace);
      rejectDone(new ProtocolError(`member ${index} rejected the release: ${reason}`));
    };
    let waiting = sessions.size;
    const check = (): void => {
      if (--waiting <= 0) finish();
    };
    for (const s of sessions.values()) {
      // Each member counts once: when it acks, or when its connection ends first.
      let counted = false;
      const once = (): void => {
        if (!counted) {
          counted = true;
          check();
        }
      };
      s.onDone = once;
      s.channel.onClose(once);
    }
    if (waiting === 0) finish();
  };

  const onJoin = (channel: Channel, hello: Hello): void => {
    const i = hello.index;
    if (released) {
      channel.close({ kind: 'local', message: 'already released' });
      return;
    }
    const old = sessions.get(i);
    if (old) {
      old.stop.abort(SESSION_ENDED);
      old.channel.close({ kind: 'local', message: `replaced by incarnation ${hello.incarnation}` });
    }
    const s: MemberSession = {
      index: i,
      channel,
      incarnation: hello.incarnation,
      address: channel.remoteAddress,
      stop: new AbortController(),
      joinedAt: cfg.now(),
      aliveSince: cfg.now(),
      nameOk: false,
      dnsAddresses: [],
      ready: false,
      readyEpoch: -1,
      sentEpoch: 0,
      acked: false,
      onDone: () => {},
    };
    sessions.set(i, s);
    lastChange = cfg.now();
    core.setState(i, 'connected', `from ${channel.remoteAddress}`);
    changed = true;
    channel.onMessage((m) => {
      if (m.type === 'ready') {
        if (m.alive !== undefined && cfg.now() - m.alive < s.aliveSince) {
          s.aliveSince = Math.max(cfg.now() - m.alive, cfg.now() - RECORD_GRACE_MS);
          core.poke();
        }
        s.ready = true;
        s.readyEpoch = m.epoch;
        if (s.nameOk && isReady(s)) core.setState(i, 'ready', `from ${s.address}`);
        maybeRelease();
      } else if (m.type === 'ack') {
        s.acked = true;
        s.onDone();
      } else if (m.type === 'reject' && released) {
        refuseRelease(i, m.reason);
      }
    });
    channel.onClose(() => {
      s.stop.abort(SESSION_ENDED);
      if (sessions.get(i) === s && !released) {
        sessions.delete(i);
        lastChange = cfg.now();
        core.setState(i, 'disconnected', `${s.address} left before release`);
        changed = true;
        discoveryWaker.wake();
      }
    });
    core.selfAddress ??= channel.localAddress;
    if (core.servicePublishes(s.address)) recordsLead = true;
    discoveryWaker.wake();
    startOwnCheck();
    // Star check: the member's name must resolve to the address it connected from, asked once there is
    // evidence its record exists (never before: a cached denial would outlast the wait).
    const name = cfg.peers[i]!;
    if (!core.checksName(i)) {
      s.nameOk = ipFamily(name) === 0 || name === s.address;
      if (!s.nameOk) core.setState(i, 'address-mismatch', `listed as ${name}, connected from ${s.address}`);
      else nameChecked(s);
      maybeRelease();
      return;
    }
    const signal = AbortSignal.any([core.signal, s.stop.signal]);
    (async () => {
      await recordEvidence(
        s.address,
        () => s.aliveSince,
        signal,
        (why) => core.setState(i, 'connected', `from ${s.address}; ${why}`),
      );
      const askedAt = cfg.now();
      return resolveUntil(core.gate, name, (addrs) => addrs.includes(s.address), {
        policy: () => livePoll(cfg.now() - askedAt),
        deadline: cfg.deadline,
        signal,
        now: cfg.now,
        random: cfg.random,
        onMiss: (lookup) => {
          if (lookup.addresses.length > 0) {
            core.setState(
              i,
              'address-mismatch',
              `resolves to ${lookup.addresses.join(', ')}, connected from ${s.address}`,
            );
          } else core.setState(i, lookup.state, lookup.detail);
        },
      });
    })().then(
      (addrs) => {
        if (!addrs || sessions.get(i) !== s) return;
        s.nameOk = true;
        s.dnsAddresses = addrs;
        core.setState(i, isReady(s) ? 'ready' : mesh ? 'checking-peers' : 'connected', `from ${s.address}`);
        nameChecked(s);
        maybeRelease();
      },
      (error: unknown) => {
        if (signal.aborted || sessions.get(i) !== s) return;
        core.setState(i, 'internal-error', `checking its name failed: ${errorText(error)}`);
      },
    );
  };

  // Mesh: members learn of each other once both names checked out, so a member's probe of another's name is
  // never the first question for it.
  const nameChecked = (s: MemberSession): void => {
    if (!mesh) return;
    epoch++;
    for (const o of sessions.values()) {
      if (o === s || !o.nameOk) continue;
      o.sentEpoch = epoch;
      o.channel.send({
        v: PROTOCOL_VERSION,
        type: 'peer',
        epoch,
        index: s.index,
        address: s.address,
        incarnation: s.incarnation,
      });
      s.sentEpoch = epoch;
      s.channel.send({
        v: PROTOCOL_VERSION,
        type: 'peer',
        epoch,
        index: o.index,
        address: o.address,
        incarnation: o.incarnation,
      });
    }
  };

  // Wait for evidence that the record of the pod at `address` (alive since `since`) exists: the Service's
  // answer holds it, records are seen to come before joins, or RECORD_GRACE_MS passed.
  const recordEvidence = async (
    address: string | undefined,
    since: () => number,
    signal: AbortSignal,
    waiting: (why: string) => void,
  ): Promise<void> => {
    let said = false;
    for (;;) {
      if (signal.aborted) throw signal.reason;
      if (cfg.serviceName === undefined || core.servicePublishes(address)) return;
      // Records seen to come before their pods: wait only a moment for the Service to show this one, since
      // a cached Service answer may be older than the pod. An authoritative answer (AA: no cache between)
      // is not: it lacks the address because the record is not there yet (a slow update), so wait on.
      const lead = recordsLead && core.service?.authoritative !== true;
      const until = since() + (lead ? LEAD_GRACE_MS : RECORD_GRACE_MS);
      if (cfg.now() >= until) return;
      if (!said) {
        said = true;
        waiting(
          `its name is asked once the Service's answer holds ${address ?? 'its address'} (at most ${RECORD_GRACE_MS / 1000} s)`,
        );
        discoveryWaker.wake();
      }
      await core.nextService(until, signal);
    }
  };

  const startOwnCheck = (): void => {
    if (ownNameOk || ownCheckStarted) return;
    ownCheckStarted = true;
    const own = cfg.peers[0]!;
    (async () => {
      await recordEvidence(
        core.selfAddress,
        () => core.startedAt,
        core.signal,
        (why) => core.setState(0, 'unknown', `this pod; ${why}`),
      );
      const askedAt = cfg.now();
      return resolveUntil(
        core.gate,
        own,
        (addrs) => core.selfAddress === undefined || addrs.includes(core.selfAddress),
        {
          policy: () => livePoll(cfg.now() - askedAt),
          deadline: cfg.deadline,
          signal: core.signal,
          now: cfg.now,
          random: cfg.random,
          onMiss: (lookup) =>
            core.setState(
              0,
              lookup.addresses.length > 0 ? 'address-mismatch' : lookup.state,
              lookup.addresses.length > 0
                ? `this pod's name resolves to ${lookup.addresses.join(', ')}, members reach it at ${core.selfAddress}`
                : lookup.detail,
            ),
        },
      );
    })().then(
      (addrs) => {
        if (!addrs) return;
        ownNameOk = true;
        core.setState(0, 'ready', `this pod, at ${core.selfAddress ?? addrs.join(', ')}`);
        maybeRelease();
      },
      (error: unknown) => {
        if (!core.signal.aborted)
          core.setState(0, 'internal-error', `checking this pod's name failed: ${errorText(error)}`);
      },
    );
  };

  await core.listen((hello) => {
    // A join during the grace window after release: tell the late pod what it missed.
    if (releaseInfo && hello.purpose === 'join')
      return {
        code: 'released',
        reason: `the job was released at ${new Date(releaseInfo.at).toISOString()} (generation ${releaseInfo.generation})`,
        generation: releaseInfo.generation,
        releasedAt: releaseInfo.at,
      };
    if (hello.purpose !== 'join')
      return { code: 'not-coordinator', reason: `index 0 takes joins, not ${hello.purpose}` };
    if (hello.index < 1 || hello.index >= n)
      return { code: 'wrong-index', reason: `index ${hello.index} is not a member of ${n}` };
    return undefined;
  }, onJoin);

  // A late coordinator announces itself: find members through the headless Service (one query for all)
  // or, with an explicit list, their own names; dial each address not joined yet.
  const announce = (address: string, countsForVerdict = true): void => {
    const last = announced.get(address);
    if (last !== undefined && cfg.now() - last < 2000) return;
    if ([...sessions.values()].some((s) => s.address === address)) return;
    announced.set(address, cfg.now());
    core
      .dial(address, cfg.port, MAX_MEMBER_FRAME)
      .then((ch) =>
        // A member's agent that takes the announce (hangs up without a word) is still waiting: no verdict.
        // Our own address (the Service lists it) rejects an announce and counts neither way.
        announceTo(ch, core.wire, cfg.now() + cfg.handshakeTimeoutMs).then((taken) => {
          if (taken) refusals.answered();
        }),
      )
      .catch((error: unknown) => {
        if (countsForVerdict && error instanceof DialError && error.state === 'connection-refused')
          refusals.refused(`every member agent (last: ${hostPort(address, cfg.port)})`);
      });
  };
  const allJoined = (): boolean => sessions.size >= n - 1;
  // Names still waiting for evidence: the Service's answer is what gives it.
  const awaitingEvidence = (): boolean =>
    (!ownNameOk && ownCheckStarted) ||
    [...sessions.values()].some((s) => !s.nameOk && core.checksName(s.index));
  const discovery = (async () => {
    let round = 0;
    while (!released && !core.signal.aborted && cfg.now() < cfg.deadline) {
      if (cfg.serviceName !== undefined && (!allJoined() || awaitingEvidence())) {
        const lookup = await core.askService();
        // A Service that lists more pods than the job has (other groups, other tasks under one Service) may
        // hold pods that refuse for their own reasons: then no refusal counts towards a verdict.
        const addresses = lookup?.addresses ?? [];
        if (!allJoined()) for (const a of addresses) announce(a, addresses.length <= n);
      } else if (!allJoined()) {
        // An explicit peer list has no Service to ask: each missing name (a cached denial is not asked again).
        for (let i = 1; i < n; i++) {
          if (sessions.has(i)) continue;
          const name = cfg.peers[i]!;
          if (ipFamily(name) !== 0) announce(name);
          else {
            const lookup = await core.gate.addresses(name, core.signal).catch(() => undefined);
            for (const a of lookup?.addresses ?? []) announce(a);
          }
        }
      }
      if (sessions.size > 0) refusals.answered();
      else if (refusals.expired()) {
        rejectVerdict(
          new ReleasedWithoutThisPodError({ index: 0, evidence: 'refused', detail: refusals.describe() }),
        );
        return;
      }
      round++;
      // A joined pod's record is imminent: evidence is polled as fast as its name used to be (livePoll).
      const policy = awaitingEvidence()
        ? livePoll(cfg.now() - lastChange)
        : discoveryPoll(cfg.now() - lastChange, cfg.serviceName === undefined);
      await sleep(
        allJoined() && !awaitingEvidence() ? 1000 : backoffDelay(policy, round, cfg.random),
        core.signal,
        discoveryWaker,
      ).catch(() => {});
    }
  })();

  // Members learn who is missing, for their own progress lines and timeout reports.
  const statusTimer = setInterval(() => {
    if (!changed || released) return;
    changed = false;
    const missing: { index: number; state: string }[] = [];
    for (let i = 1; i < n && missing.length < 50; i++) {
      const s = sessions.get(i);
      if (!s || !isReady(s)) missing.push({ index: i, state: core.states.get(i)?.state ?? 'unknown' });
    }
    const status = {
      v: PROTOCOL_VERSION,
      type: 'status' as const,
      ready: readyCount() + 1,
      total: n,
      missing,
    };
    for (const s of sessions.values()) s.channel.send(status);
    cfg.onProgress?.({ type: 'status', ready: status.ready, total: n });
  }, 1000);

  const unfinished = (): PeerReport[] => {
    const out: PeerReport[] = [];
    const own = core.states.get(0);
    if (!ownNameOk && own) out.push(own);
    for (let i = 1; i < n; i++) {
      const s = sessions.get(i);
      if (s && isReady(s)) continue;
      out.push(
        core.states.get(i) ?? {
          index: i,
          fqdn: cfg.peers[i]!,
          state: 'unknown',
          detail: '',
          since: core.startedAt,
          seenBy: 'self',
        },
      );
    }
    return out;
  };
  const deadline = core.deadlineReached(unfinished);
  try {
    if (n === 1) maybeRelease();
    return await Promise.race([done, verdict, deadline.promise, core.aborted()]);
  } finally {
    deadline.cancel();
    clearInterval(statusTimer);
    released = true;
    discoveryWaker.wake();
    for (const s of sessions.values()) s.stop.abort(SESSION_ENDED);
    await Promise.race([discovery, sleep(0)]);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Member (index > 0)

async function runMember(core: AgentCore): Promise<Mesh> {
  const { cfg } = core;
  const n = cfg.completions;
  const mesh = cfg.verify.kind === 'mesh';
  const coordinatorName = cfg.peers[0]!;
  const waker = new Waker();
  // Mesh: checks of the other members run a few at a time (sockets and DNS questions stay bounded).
  const probes = new Limiter(MESH_PROBE_CONCURRENCY);
  // Where an announce came from: dialled first (once), so no DNS question is needed for the coordinator.
  let hint: string | undefined;
  let liveUntil = 0;
  // An announce ends a DNS wait for the coordinator: its source address is dialled instead.
  let announced = new AbortController();
  // The coordinator's name resolved once: its record exists, asking it again poisons nothing.
  let coordinatorRecordSeen = false;
  // The coordinator's addresses dialled last (not another member's, for the liveness check before a verdict).
  let coordinatorDialled: readonly string[] = [];
  let coordinatorView: { index: number; state: string }[] = [];
  const refusals = new RefusalWatch(cfg.releasedAfterMs, cfg.now);
  core.setState(0, 'unknown');

  await core.listen(
    (hello) => {
      if (hello.purpose === 'join')
        return { code: 'not-coordinator', reason: `index ${cfg.index} is not the coordinator` };
      if (hello.purpose === 'announce' && hello.index !== 0)
        return { code: 'wrong-index', reason: 'only index 0 announces' };
      if (hello.purpose === 'probe' && (!mesh || hello.index === 0 || hello.index >= n)) {
        return { code: 'wrong-index', reason: `probe from index ${hello.index} not expected` };
      }
      return undefined;
    },
    (channel, hello) => {
      channel.close({ kind: 'local', message: 'done' });
      if (hello.purpose === 'announce') {
        // A coordinator says it is up at this address (the announce itself is unauthenticated: the join's
        // handshake is what proves index 0 of this job there). Dialled first, so no DNS question is needed.
        hint = channel.remoteAddress;
        core.selfAddress ??= channel.localAddress;
        liveUntil = cfg.now() + LIVE_WINDOW_MS;
        announced.abort(SESSION_ENDED);
        waker.wake();
      }
    },
  );

  const unfinished = (): PeerReport[] => {
    const out: PeerReport[] = [];
    const coord = core.states.get(0);
    if (coord && coord.state !== 'ready') out.push(coord);
    for (const [index, report] of core.states) if (index !== 0 && report.state !== 'ready') out.push(report);
    for (const m of coordinatorView) {
      if (m.index === cfg.index || core.states.has(m.index)) continue;
      out.push({
        index: m.index,
        fqdn: cfg.peers[m.index] ?? '?',
        state: m.state as PeerStateKind,
        detail: '',
        since: core.startedAt,
        seenBy: 'coordinator',
      });
    }
    return out.sort((a, b) => a.index - b.index);
  };
  const deadline = core.deadlineReached(unfinished);

  // A release this member cannot use ends the wait at once, with the reason.
  let refused!: (e: Error) => void;
  const refusal = new Promise<never>((_, reject) => {
    refused = reject;
  });
  const loop = async (): Promise<Mesh> => {
    for (;;) {
      const session = await findCoordinator();
      const result = await memberSession(session);
      if (result) return result;
      // Lost the coordinator before release: it may be restarting on a new address. Look again, fast.
      liveUntil = cfg.now() + LIVE_WINDOW_MS;
    }
  };

  // Resolve the coordinator and join it, retrying (p-retry) until a handshake succeeds.
  const findCoordinator = (): Promise<{ channel: Channel }> =>
    pRetry(
      async () => {
        const addrs = await coordinatorAddresses();
        if (!addrs) throw new StopRetry();
        coordinatorDialled = addrs;
        const tried = hint;
        // A hint is used once: if it fails, the coordinator may have moved, and its name decides.
        hint = undefined;
        const ordered = tried && addrs.includes(tried) ? [tried, ...addrs.filter((a) => a !== tried)] : addrs;
        let lastFailure: { state: PeerStateKind; detail: string } | undefined;
        let allRefused = true;
        for (const address of ordered) {
          try {
            const channel = await core.dial(address, cfg.port, maxReleaseFrame(n));
            channel.setMaxQueued(2 * n + 64);
            await initiate(channel, core.wire, 'join', 0, cfg.now() + cfg.handshakeTimeoutMs);
            core.setState(0, 'connected', `at ${channel.remoteAddress}`);
            core.selfAddress ??= channel.localAddress;
            cfg.onProgress?.({ type: 'joined', coordinator: channel.remoteAddress });
            return { channel };
          } catch (error) {
            if (error instanceof HandshakeError && error.reason === 'released') {
              throw new ReleasedWithoutThisPodError({
                index: cfg.index,
                evidence: 'released-reject',
                generation: error.released?.generation,
                releasedAt: error.released?.releasedAt,
              });
            }
            lastFailure = failureState(error);
            if (lastFailure.state !== 'connection-refused') allRefused = false;
          }
        }
        if (lastFailure) core.setState(0, lastFailure.state, lastFailure.detail);
        // Only the announce's source was dialled (anyone can send an announce): that says nothing about the
        // coordinator's name, so it counts neither way for the released-without-this-pod verdict.
        const onlyHint = tried !== undefined && ordered.length === 1;
        if (onlyHint) {
          // neither way
        } else if (allRefused)
          refusals.refused(
            `the coordinator's agent at ${addrs.map((a) => hostPort(a, cfg.port)).join(', ')}`,
          );
        else refusals.answered();
        if (refusals.expired() && !(await otherMemberWaiting())) {
          throw new ReleasedWithoutThisPodError({
            index: cfg.index,
            evidence: 'refused',
            detail: refusals.describe(),
          });
        }
        throw new RetryConnect();
      },
      {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: 0,
        signal: core.signal,
        shouldRetry: ({ error }) => error instanceof RetryConnect && cfg.now() < cfg.deadline,
        onFailedAttempt: async ({ attemptNumber, error }) => {
          if (!(error instanceof RetryConnect)) return;
          await sleep(
            Math.min(
              backoffDelay(CONNECT_RETRY, attemptNumber, cfg.random),
              Math.max(0, cfg.deadline - cfg.now()),
            ),
            core.signal,
            waker,
          );
        },
      },
    ).catch((error: unknown) => {
      if (error instanceof StopRetry || error instanceof RetryConnect) return new Promise<never>(() => {}); // the deadline rejects
      throw error;
    });

  // Where to dial the coordinator: the address an announce came from (no DNS needed: the handshake proves
  // index 0), its IP literal, or its name — first asked once there is evidence its record exists.
  const coordinatorAddresses = async (): Promise<readonly string[] | undefined> => {
    if (hint) return [hint];
    if (ipFamily(coordinatorName) !== 0) return [coordinatorName];
    if (announced.signal.aborted) announced = new AbortController();
    const attempt = AbortSignal.any([core.signal, announced.signal]);
    try {
      if (!coordinatorRecordSeen) await coordinatorEvidence(attempt);
      const addrs = await resolveUntil(core.gate, coordinatorName, (a) => a.length > 0, {
        policy: () =>
          cfg.now() < liveUntil ? livePoll(cfg.now() - (liveUntil - LIVE_WINDOW_MS)) : BLIND_POLL,
        deadline: cfg.deadline,
        signal: attempt,
        waker,
        now: cfg.now,
        random: cfg.random,
        onMiss: (lookup) => {
          core.setState(0, lookup.state, lookup.detail);
          // The verdict needs the name resolving the whole time: a denial restarts its clock.
          refusals.answered();
        },
      });
      if (addrs) coordinatorRecordSeen = true;
      return addrs;
    } catch (error) {
      if (!core.signal.aborted && announced.signal.aborted && hint) return [hint];
      throw error;
    }
  };

  // Before the first question for the coordinator's name: the Service's answer holds some other pod (the
  // job's records are being published), or RECORD_GRACE_MS passed since this agent started.
  const coordinatorEvidence = async (signal: AbortSignal): Promise<void> => {
    if (cfg.serviceName === undefined) return;
    let round = 0;
    let said = false;
    while (cfg.now() < core.startedAt + RECORD_GRACE_MS) {
      const lookup = await core.askService();
      if (lookup?.addresses.some((a) => a !== core.selfAddress)) return;
      // The DNS failing (not denying) is what the user must see, not "not seen yet".
      if (
        lookup &&
        lookup.addresses.length === 0 &&
        !lookup.denial &&
        lookup.state !== 'nxdomain' &&
        lookup.state !== 'nodata'
      ) {
        core.setState(0, lookup.state, lookup.detail);
        said = true;
      }
      if (!said) {
        said = true;
        core.setState(
          0,
          'unknown',
          `its name is asked once the Service's answer holds another pod (at most ${RECORD_GRACE_MS / 1000} s)`,
        );
      }
      round++;
      const left = core.startedAt + RECORD_GRACE_MS - cfg.now();
      await sleep(Math.min(left, backoffDelay(DISCOVERY_POLL, round, cfg.random)), signal);
    }
  };

  // Before a refused-coordinator verdict: an agent that still listens on another member means the barrier is
  // not over (pod 0 may only be slow to start). A few members are asked, once per verdict; a connection that
  // opens restarts the clock.
  const otherMemberWaiting = async (): Promise<boolean> => {
    if (cfg.serviceName !== undefined) {
      // The Service's answer is the evidence of which records exist: its addresses are dialled, no pod's name
      // is asked (a denial would be cached for every pod).
      const lookup = await core.askService();
      const candidates = (lookup?.addresses ?? [])
        .filter((a) => a !== core.selfAddress && !coordinatorDialled.includes(a))
        .slice(0, OTHER_MEMBER_CHECKS);
      for (const a of candidates) {
        try {
          (await core.dial(a, cfg.port, MAX_MEMBER_FRAME)).close({
            kind: 'local',
            message: 'liveness check',
          });
          refusals.answered();
          return true;
        } catch {
          // Refused or unreachable: not a waiting agent.
        }
      }
      return false;
    }
    const others = [...Array(n).keys()]
      .filter((i) => i !== 0 && i !== cfg.index)
      .slice(0, OTHER_MEMBER_CHECKS);
    const answers = await Promise.all(
      others.map(async (i) => {
        const name = cfg.peers[i]!;
        const addrs =
          ipFamily(name) !== 0
            ? [name]
            : ((await core.gate.addresses(name, core.signal).catch(() => undefined))?.addresses ?? []);
        for (const a of addrs.slice(0, 2)) {
          try {
            (await core.dial(a, cfg.port, MAX_MEMBER_FRAME)).close({
              kind: 'local',
              message: 'liveness check',
            });
            return true;
          } catch {
            // Refused or unreachable: not a waiting agent.
          }
        }
        return false;
      }),
    );
    if (answers.some(Boolean)) {
      refusals.answered();
      return true;
    }
    return false;
  };

  // One joined session: report ready (after mesh checks), wait for release. Undefined when it ends early.
  const memberSession = ({ channel }: { channel: Channel }): Promise<Mesh | undefined> =>
    new Promise((resolve) => {
      const stop = new AbortController();
      const known = new Map<
        number,
        { address: string; incarnation: string; verified: boolean; stop: AbortController }
      >();
      let maxEpoch = 0;
      let sentReady = -1;
      const maybeReady = (): void => {
        if (mesh && (known.size < n - 2 || [...known.values()].some((p) => !p.verified))) return;
        if (sentReady === maxEpoch) return;
        sentReady = maxEpoch;
        core.readyAt ??= cfg.now();
        channel.send({
          v: PROTOCOL_VERSION,
          type: 'ready',
          epoch: maxEpoch,
          alive: Math.max(0, Math.round(cfg.now() - core.startedAt)),
        });
      };
      channel.onMessage((m) => {
        switch (m.type) {
          case 'peer': {
            if (!mesh || m.index === cfg.index || m.index === 0 || m.index >= n) return;
            maxEpoch = Math.max(maxEpoch, m.epoch);
            known.get(m.index)?.stop.abort(SESSION_ENDED);
            const p = {
              address: m.address,
              incarnation: m.incarnation,
              verified: false,
              stop: new AbortController(),
            };
            known.set(m.index, p);
            core.setState(m.index, 'unknown', `joined from ${m.address}`);
            const probeSignal = AbortSignal.any([stop.signal, p.stop.signal, core.signal]);
            probes
              .run(() => (probeSignal.aborted ? Promise.resolve(false) : probePeer(m.index, p, probeSignal)))
              .then(
                (ok) => {
                  if (!ok || known.get(m.index) !== p) return;
                  p.verified = true;
                  core.setState(m.index, 'ready', `at ${p.address}`);
                  maybeReady();
                },
                (error: unknown) => {
                  if (probeSignal.aborted || known.get(m.index) !== p) return;
                  core.setState(m.index, 'internal-error', `checking it failed: ${errorText(error)}`);
                },
              );
            maybeReady();
            return;
          }
          case 'status':
            coordinatorView = m.missing;
            cfg.onProgress?.({ type: 'status', ready: m.ready, total: m.total });
            return;
          case 'release': {
            stop.abort(SESSION_ENDED);
            const problem = releaseProblem(m, n);
            if (problem) {
              // Not retried (the coordinator has released): say why here and to the coordinator, which
              // then starts nobody either.
              channel.send({ v: PROTOCOL_VERSION, type: 'reject', code: 'protocol', reason: problem });
              channel.close({ kind: 'local', message: 'released' });
              refused(new ProtocolError(`rejected the release from ${channel.remoteAddress}: ${problem}`));
              return;
            }
            channel.send({ v: PROTOCOL_VERSION, type: 'ack', generation: m.generation });
            core.setState(0, 'ready', `at ${channel.remoteAddress}`);
            const result = core.mesh(core.roster(m.addresses), m.generation);
            channel.close({ kind: 'local', message: 'released' });
            resolve(result);
            return;
          }
          default:
            return;
        }
      });
      channel.onClose((reason) => {
        stop.abort(SESSION_ENDED);
        for (const p of known.values()) p.stop.abort(SESSION_ENDED);
        if (reason.kind !== 'local' || reason.message !== 'released') {
          core.setState(
            0,
            'disconnected',
            `coordinator connection ended: ${'message' in reason ? reason.message : 'closed'}`,
          );
          resolve(undefined);
        }
      });
      maybeReady();
    });

  // Mesh: the peer's name resolves to the address the coordinator saw, and its agent answers as that index.
  const probePeer = async (
    index: number,
    p: { address: string; incarnation: string },
    signal: AbortSignal,
  ): Promise<boolean> => {
    const name = cfg.peers[index]!;
    const probeStart = cfg.now();
    if (core.checksName(index)) {
      const addrs = await resolveUntil(core.gate, name, (a) => a.includes(p.address), {
        policy: () => livePoll(cfg.now() - probeStart),
        deadline: cfg.deadline,
        signal,
        now: cfg.now,
        random: cfg.random,
        onMiss: (lookup) =>
          core.setState(
            index,
            lookup.addresses.length > 0 ? 'address-mismatch' : lookup.state,
            lookup.addresses.length > 0
              ? `resolves to ${lookup.addresses.join(', ')}, joined from ${p.address}`
              : lookup.detail,
          ),
      });
      if (!addrs) return false;
    }
    return pRetry(
      async () => {
        const channel = await core.dial(p.address, cfg.port, MAX_MEMBER_FRAME);
        try {
          const welcome = await initiate(
            channel,
            core.wire,
            'probe',
            index,
            cfg.now() + cfg.handshakeTimeoutMs,
          );
          if (welcome.incarnation !== p.incarnation) {
            throw new DialError(
              'wrong-identity',
              `${p.address} answers as incarnation ${welcome.incarnation}, expected ${p.incarnation}`,
            );
          }
          return true;
        } finally {
          channel.close({ kind: 'local', message: 'probe done' });
        }
      },
      {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: 0,
        signal,
        shouldRetry: () => cfg.now() < cfg.deadline,
        onFailedAttempt: async ({ attemptNumber, error }) => {
          const f = failureState(error);
          core.setState(index, f.state, f.detail);
          await sleep(backoffDelay(CONNECT_RETRY, attemptNumber, cfg.random), signal);
        },
      },
    ).catch(() => false);
  };

  try {
    return await Promise.race([loop(), refusal, deadline.promise, core.aborted()]);
  } finally {
    deadline.cancel();
  }
}

/** After an announce or a lost coordinator, the coordinator's name is polled as a live one this long. */
const LIVE_WINDOW_MS = 10_000;

/** Other members a member dials before concluding the job was released without it. */
const OTHER_MEMBER_CHECKS = 4;

/** Mesh checks one member runs at once. */
const MESH_PROBE_CONCURRENCY = 4;

class StopRetry extends Error {}
class RetryConnect extends Error {}

// ---------------------------------------------------------------------------------------------------------
// One-sided modes: `dns` (names resolve) and `tcp:<port>` (names resolve and the port accepts).

const ONE_SIDED_POLL: BackoffPolicy = { first: 100, factor: 2, cap: 1000, floor: 50 };
const ONE_SIDED_CONCURRENCY = 64;

async function runOneSided(core: AgentCore, tcpPort: number | undefined): Promise<Mesh> {
  const { cfg } = core;
  const n = cfg.completions;
  const targets = [...Array(n).keys()].filter((i) => tcpPort === undefined || i !== cfg.index);
  const addresses = new Map<number, readonly string[]>();
  for (const i of targets) core.setState(i, 'unknown');

  const checkOne = async (i: number): Promise<void> => {
    const name = cfg.peers[i]!;
    const addrs = await resolveUntil(core.gate, name, (a) => a.length > 0, {
      policy: () => ONE_SIDED_POLL,
      deadline: cfg.deadline,
      signal: core.signal,
      now: cfg.now,
      random: cfg.random,
      onMiss: (lookup) => core.setState(i, lookup.state, lookup.detail),
    });
    if (!addrs) return;
    if (tcpPort !== undefined) {
      const open = await pRetry(
        async () => {
          let last: unknown;
          for (const a of addrs) {
            try {
              const ch = await core.dial(a, tcpPort, 1);
              ch.close({ kind: 'local', message: 'tcp check done' });
              return a;
            } catch (error) {
              last = error;
            }
          }
          const f = failureState(last);
          core.setState(i, f.state, f.detail);
          throw new RetryConnect();
        },
        {
          retries: Number.POSITIVE_INFINITY,
          minTimeout: 0,
          signal: core.signal,
          shouldRetry: () => cfg.now() < cfg.deadline,
          onFailedAttempt: async ({ attemptNumber }) => {
            await sleep(
              Math.min(
                backoffDelay(CONNECT_RETRY, attemptNumber, cfg.random),
                Math.max(0, cfg.deadline - cfg.now()),
              ),
              core.signal,
            );
          },
        },
      ).catch(() => undefined);
      if (open === undefined) return;
      addresses.set(i, [open, ...addrs.filter((a) => a !== open)]);
    } else addresses.set(i, addrs);
    core.setState(i, 'ready', addresses.get(i)!.join(', '));
  };

  // Evidence before the first question for any pod's name: the Service's answer holds as many addresses as
  // there are pods (they all have records), or RECORD_GRACE_MS passed.
  const evidence = async (): Promise<void> => {
    if (cfg.serviceName === undefined) return;
    let round = 0;
    while (cfg.now() < core.startedAt + RECORD_GRACE_MS) {
      const lookup = await core.askService();
      if ((lookup?.addresses.length ?? 0) >= n) return;
      round++;
      const left = core.startedAt + RECORD_GRACE_MS - cfg.now();
      await sleep(Math.min(left, backoffDelay(DISCOVERY_POLL, round, cfg.random)), core.signal);
    }
  };
  const gateOpen = evidence();
  gateOpen.catch(() => {});
  const queue = [...targets];
  const workers = Array.from({ length: Math.min(ONE_SIDED_CONCURRENCY, queue.length) }, async () => {
    await gateOpen;
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) await checkOne(i);
  });
  const unfinished = (): PeerReport[] =>
    targets.filter((i) => !addresses.has(i)).map((i) => core.states.get(i)!);
  const deadline = core.deadlineReached(unfinished);
  try {
    await Promise.race([Promise.all(workers), deadline.promise, core.aborted()]);
    if (addresses.size < targets.length) return await Promise.race([deadline.promise, core.aborted()]);
    core.readyAt = cfg.now();
    // tcp checks no own entry; with ip exports it still needs this pod's address.
    if (core.peerAddress === 'ip' && !addresses.has(cfg.index) && core.selfAddress !== undefined)
      addresses.set(cfg.index, [core.selfAddress]);
    const roster: RosterEntry[] = cfg.peers.map((fqdn, index) => ({
      index,
      fqdn,
      addresses: [...(addresses.get(index) ?? [])],
    }));
    return core.mesh(roster, `one-sided-${cfg.verify.kind}`);
  } finally {
    deadline.cancel();
  }
}
