// The state and I/O shared by the roles of one agent: the listener and its admission, the dialer, the state
// table that progress lines and timeout reports read, the headless Service's answers, and the final Mesh.
import { setMaxListeners } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ipFamily } from '../dns/ip-bytes.js';
import { AbortedError, ConfigError } from '../errors.js';
import { randomBytes } from '../random.js';
import { Admission, FIRST_FRAME_MS, MAX_PENDING_PER_SOURCE, maxPending } from './admission.js';
import type { AgentConfig, AgentStats, PeerAddressMode } from './agent.js';
import { BLIND_POLL, LIVE_POLL } from './backoff.js';
import { Channel, MAX_MEMBER_FRAME } from './channel.js';
import type { Clock } from './clock.js';
import { ExistenceProbe } from './existence.js';
import { asAbort, DialError, hostPort } from './failure.js';
import { accept, type Refusal, type WireIdentity } from './handshake.js';
import { LookupGate } from './lookup.js';
import type { ProbeSocket } from './mesh-udp.js';
import type { Hello, RosterEntry } from './messages.js';
import type { PeerReport, PeerStateKind } from './peer-state.js';
import { ServiceWatch } from './service-watch.js';
import type { Mesh, PeerInfo } from './types.js';
import { MAX_WARNED, shedWarning, WarnOnce } from './warn-once.js';

/** Listeners the agent's signal holds at most by design: a few per job pod at once (DNS, probes, waits). */
export function signalListenerBound(completions: number): number {
  return 4 * completions + 64;
}

export class AgentCore {
  readonly cfg: AgentConfig;
  readonly clock: Clock;
  readonly gate: LookupGate;
  /** Whether a name has a record, asked without risking its A/AAAA answers (existence.ts). */
  readonly existence: ExistenceProbe;
  readonly service: ServiceWatch;
  readonly wire: WireIdentity;
  readonly startedAt: number;
  readonly states = new Map<number, PeerReport>();
  readonly stats: AgentStats = { dnsQueries: 0, connections: 0, datagrams: 0 };
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
  /** A mesh member's UDP probe socket (mesh-udp.ts), when it could bind the port. */
  probeSocket: ProbeSocket | undefined;
  readyAt: number | undefined;
  /** This pod's address as the others see it (known from the start, or from the first connection). */
  selfAddress: string | undefined;

  constructor(cfg: AgentConfig) {
    this.cfg = cfg;
    this.clock = cfg.clock;
    this.startedAt = cfg.clock.now();
    this.selfAddress = cfg.selfAddress;
    // A plain signal, aborted by the caller's (below) or at shutdown: every question, probe and wait checks it
    // or listens on it, and a composite (AbortSignal.any) recomputes itself from its sources each time.
    this.signal = this.#abort.signal;
    // Every DNS question, probe and wait of this agent listens on this one signal while it runs: a coordinator
    // of N has a few per member at once. Node warns of a leak past its default of 10 (the CLI's signals get
    // that default): the bound is what the design holds, not a leak.
    setMaxListeners(signalListenerBound(cfg.completions), this.signal);
    // One listener for every dial still connecting, instead of one per dial: a coordinator announcing to 63
    // addresses at once added 63 to this signal.
    this.signal.addEventListener(
      'abort',
      () => {
        for (const s of [...this.#sockets]) if (s.connecting) s.destroy(new Error('aborted'));
      },
      { once: true },
    );
    this.gate = new LookupGate(
      cfg.resolver,
      Math.min(BLIND_POLL.floor, LIVE_POLL.floor),
      cfg.clock,
      this.signal,
    );
    this.existence = new ExistenceProbe(this.gate);
    this.service = new ServiceWatch({
      name: cfg.serviceName,
      gate: this.gate,
      clock: cfg.clock,
      signal: this.signal,
      startedAt: this.startedAt,
      self: () => this.selfAddress,
      warn: (message) => cfg.onProgress?.({ type: 'warning', message }),
      notice: (message) => cfg.onProgress?.({ type: 'notice', message }),
    });
    this.#aborted = new Promise<never>((_, reject) => {
      const fire = (): void => {
        this.#abort.abort(cfg.signal.reason);
        reject(asAbort(cfg.signal.reason));
      };
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

  now(): number {
    return this.clock.now();
  }

  get peerAddress(): PeerAddressMode {
    return this.cfg.peerAddress ?? 'fqdn';
  }

  /** Whether the barrier must check `index`'s name (fqdn exports carry it; IP literals need no lookup). */
  checksName(index: number): boolean {
    return this.peerAddress === 'fqdn' && ipFamily(this.fqdn(index)) === 0;
  }

  fqdn(index: number): string {
    return this.cfg.peers[index]!;
  }

  /** Record a peer's state; report it when it changed. */
  setState(index: number, state: PeerStateKind, detail = '', seenBy: 'self' | 'coordinator' = 'self'): void {
    const old = this.states.get(index);
    if (old && old.state === state && old.detail === detail) return;
    const since = old && old.state === state ? old.since : this.clock.now();
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
      () => this.clock.now(),
    );
    const server = createServer((socket) => {
      this.#track(socket);
      const channel = this.track(new Channel(socket, MAX_MEMBER_FRAME));
      const pending = admission.admit(channel);
      const now = this.clock.now();
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
      if (this.signal.aborted) socket.destroy(new Error('aborted'));
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(this.track(new Channel(socket, maxFrame)));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
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
    if (this.probeSocket) {
      this.stats.datagrams = this.probeSocket.sent;
      this.probeSocket.close();
      this.probeSocket = undefined;
    }
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of [...this.#sockets]) s.destroy();
    this.stats.dnsQueries = this.gate.queries;
  }

  /** Reject with AbortedError (or the caller's reason) once the signal fires. */
  aborted(): Promise<never> {
    return this.#aborted;
  }

  /** Roster entries from per-index addresses; names come from our own peer list. */
  roster(addresses: readonly (readonly string[])[]): RosterEntry[] {
    return addresses.map((a, index) => ({ index, fqdn: this.fqdn(index), addresses: [...a] }));
  }

  mesh(roster: readonly RosterEntry[], generation: string): Mesh {
    // Rosters are built in index order (see roster()); entries already have the PeerInfo shape.
    const peers: readonly PeerInfo[] = roster;
    const now = this.clock.now();
    return {
      self: peers[this.cfg.index]!,
      peers,
      coordinator: peers[0]!,
      generation,
      peerAddress: this.peerAddress,
      port: this.cfg.port,
      timings: {
        startedAt: this.startedAt,
        readyMs: (this.readyAt ?? now) - this.startedAt,
        releasedMs: now - this.startedAt,
      },
    };
  }
}
