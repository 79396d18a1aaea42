// The sidecar's listener after the release: a replacement pod rejoins the released job.
//
//  - A replacement member's barrier joins the coordinator as usual (`hello purpose join`). The coordinator's
//    sidecar answers the handshake, checks the member's name resolves to the address it connected from, and
//    sends the `release` it keeps (same generation, the member's new address in its slot); the member acks.
//  - A replacement coordinator (pod 0) dials the members' sidecars with `hello purpose rejoin`
//    (recoverReleased below). A released member answers with its `release` (pod 0's slot = the address the
//    coordinator dialled from) after checking pod 0's name resolves there; the coordinator acks.
// Admission is the barrier's (admission.ts): the same protocol-2 handshake and token, pending handshakes
// capped per address and in all with the oldest shed, 64 KiB frames, the handshake deadline; one rejoin at a
// time per index.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ipFamily } from '../dns/ip-bytes.js';
import { ConfigError } from '../errors.js';
import { randomBytes } from '../random.js';
import { Admission, FIRST_FRAME_MS, MAX_PENDING_PER_SOURCE, maxPending } from './admission.js';
import { livePoll } from './backoff.js';
import { Channel, MAX_MEMBER_FRAME, maxReleaseFrame } from './channel.js';
import { clockWithNow } from './clock.js';
import { accept, initiate, type WireIdentity } from './handshake.js';
import { type LookupGate, resolveUntil } from './lookup.js';
import { type Hello, PROTOCOL_VERSION, type Release, releaseProblem } from './messages.js';
import { sleep } from './sleep.js';
import { shedWarning, WarnOnce } from './warn-once.js';

/** What a released pod keeps to answer replacements. */
export interface ReleasedState {
  readonly generation: string;
  /** When the job was released (epoch ms). */
  readonly releasedAt: number;
  /** Per index, the addresses the pod was released with (updated when a pod rejoins). */
  readonly addresses: string[][];
}

/** Who the job is and how its agents talk: what the after-release listener and the roster recovery share. */
export interface JobEndpoint {
  readonly completions: number;
  readonly peers: readonly string[];
  readonly jobKey: string;
  readonly token: string | undefined;
  readonly port: number;
  readonly listen: string | undefined;
  readonly handshakeTimeoutMs: number;
  readonly gate: LookupGate;
}

export interface AfterReleaseConfig extends JobEndpoint {
  readonly index: number;
  readonly state: ReleasedState;
  /** One line per event worth a log line (a replacement rejoined, a rejoin that failed its checks). */
  readonly log: (line: string) => void;
  readonly now?: () => number;
}

/** A pod that rejoined: its index and new address, the one it replaced. */
export interface Rejoined {
  readonly index: number;
  readonly address: string;
  readonly previous: readonly string[];
}

/** The listener of a released sidecar. */
export class AfterReleaseServer {
  readonly #cfg: AfterReleaseConfig;
  readonly #wire: WireIdentity;
  readonly #sockets = new Set<Socket>();
  readonly #busy = new Set<number>();
  readonly #listeners: ((r: Rejoined) => void)[] = [];
  #server: Server | undefined;
  readonly #abort = new AbortController();

  constructor(cfg: AfterReleaseConfig) {
    this.#cfg = cfg;
    this.#wire = {
      job: cfg.jobKey,
      index: cfg.index,
      incarnation: randomBytes(8).toString('hex'),
      token: cfg.token,
    };
  }

  /** Called after each replacement that got the roster. */
  onRejoined(listener: (r: Rejoined) => void): void {
    this.#listeners.push(listener);
  }

  async start(): Promise<void> {
    const { completions: n } = this.#cfg;
    const now = this.#cfg.now ?? Date.now;
    // The barrier's admission (admission.ts): pending handshakes capped per source and in all, the oldest
    // idle or stalled one shed with `busy`, a hello within FIRST_FRAME_MS.
    // Said once per address, for at most MAX_WARNED addresses: the listener lives as long as the job.
    const shedWarned = new WarnOnce();
    const admission = new Admission(
      maxPending(n),
      MAX_PENDING_PER_SOURCE,
      (source, why) => {
        const say = shedWarned.take(source);
        if (say !== undefined) this.#cfg.log(shedWarning(say, source, why));
      },
      now,
    );
    const server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      const channel = new Channel(socket, MAX_MEMBER_FRAME);
      const pending = admission.admit(channel);
      const t = now();
      const deadlines = {
        hello: t + Math.min(FIRST_FRAME_MS, this.#cfg.handshakeTimeoutMs),
        end: t + this.#cfg.handshakeTimeoutMs,
      };
      accept(channel, this.#wire, (hello) => this.#admit(hello), deadlines, pending.spoke)
        .then(
          (hello) => {
            pending.done();
            return this.#serve(channel, hello);
          },
          () => {
            pending.done();
            channel.close();
          },
        )
        .catch(() => channel.close());
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new ConfigError(
            `cannot listen on ${this.#cfg.listen ?? '*'}:${this.#cfg.port} after the release: ${error.message}`,
            {
              value: String(this.#cfg.port),
              source: 'option port',
              cause: error,
            },
          ),
        ),
      );
      server.listen({ port: this.#cfg.port, host: this.#cfg.listen, backlog: Math.max(511, n + 64) }, () => {
        server.removeAllListeners('error');
        server.on('error', () => {});
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.#abort.abort();
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of this.#sockets) s.destroy();
      await closed;
    }
  }

  #admit(hello: Hello): { code: 'not-coordinator' | 'wrong-index'; reason: string } | undefined {
    const { index, completions: n } = this.#cfg;
    if (hello.index < 0 || hello.index >= n || hello.index === index)
      return { code: 'wrong-index', reason: `index ${hello.index} cannot rejoin index ${index} of ${n}` };
    if (index === 0) {
      if (hello.purpose !== 'join')
        return { code: 'not-coordinator', reason: `index 0 (released) takes joins, not ${hello.purpose}` };
      return undefined;
    }
    // A member: a replacement coordinator asks for the roster (rejoin) or, running its barrier, announces.
    if (hello.index !== 0)
      return { code: 'not-coordinator', reason: `index ${index} is not the coordinator` };
    if (hello.purpose !== 'rejoin' && hello.purpose !== 'announce')
      return { code: 'wrong-index', reason: `${hello.purpose} from index 0 not expected after the release` };
    return undefined;
  }

  async #serve(channel: Channel, hello: Hello): Promise<void> {
    const cfg = this.#cfg;
    const i = hello.index;
    if (hello.purpose === 'announce' || this.#busy.has(i)) {
      channel.close({ kind: 'local', message: 'done' });
      return;
    }
    this.#busy.add(i);
    try {
      const address = channel.remoteAddress;
      const name = cfg.peers[i]!;
      const now = cfg.now ?? Date.now;
      // The same check as the barrier's: the pod's name resolves to the address it connected from.
      if (ipFamily(name) !== 0) {
        if (name !== address) {
          cfg.log(`pod ${i} tried to rejoin from ${address}, but it is listed as ${name}: refused`);
          channel.close({ kind: 'local', message: 'address mismatch' });
          return;
        }
      } else {
        const started = now();
        const ok = await resolveUntil(cfg.gate, name, (a) => a.includes(address), {
          policy: () => livePoll(now() - started),
          deadline: started + cfg.handshakeTimeoutMs,
          signal: AbortSignal.any([this.#abort.signal, closedSignal(channel)]),
          clock: clockWithNow(now),
        }).catch(() => undefined);
        if (!ok) {
          cfg.log(`pod ${i} tried to rejoin from ${address}, but ${name} does not resolve there: refused`);
          channel.close({ kind: 'local', message: 'name does not resolve to the address' });
          return;
        }
      }
      const previous = cfg.state.addresses[i] ?? [];
      const addresses = cfg.state.addresses.map((a, j) => (j === i ? [address] : [...a]));
      channel.onMessage((m) => {
        if (m.type !== 'ack' || m.generation !== cfg.state.generation) return;
        cfg.state.addresses[i] = [address];
        const r: Rejoined = { index: i, address, previous };
        for (const l of this.#listeners) l(r);
        channel.close({ kind: 'local', message: 'rejoined' });
      });
      channel.send({
        v: PROTOCOL_VERSION,
        type: 'release',
        generation: cfg.state.generation,
        addresses,
      } satisfies Release);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          channel.close({ kind: 'local', message: 'no ack' });
        }, cfg.handshakeTimeoutMs);
        channel.onClose(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    } finally {
      this.#busy.delete(i);
    }
  }
}

function closedSignal(channel: Channel): AbortSignal {
  const c = new AbortController();
  channel.onClose(() => c.abort());
  return c.signal;
}

/** What a replacement coordinator learned from a released member. */
export interface Recovered {
  readonly generation: string;
  readonly addresses: string[][];
  /** The member that answered, and where. */
  readonly from: { readonly index: number; readonly address: string };
}

/**
 * A replacement coordinator asks released members' sidecars for the released roster: up to `fanout` member
 * addresses (from the Service, else the members' names) per round, one round every `intervalMs`, until one
 * answers with a release or `signal` fires. Waiting members (a barrier not released yet) accept the hello and
 * hang up: no roster, the barrier goes on.
 */
export async function recoverReleased(
  options: JobEndpoint & {
    readonly serviceName: string | undefined;
    readonly signal: AbortSignal;
    readonly intervalMs?: number;
    readonly fanout?: number;
  },
): Promise<Recovered | undefined> {
  const n = options.completions;
  const interval = options.intervalMs ?? 500;
  const fanout = options.fanout ?? 8;
  const wire: WireIdentity = {
    job: options.jobKey,
    index: 0,
    incarnation: randomBytes(8).toString('hex'),
    token: options.token,
  };
  const own = new Set<string>(options.listen ? [options.listen] : []);
  if (ipFamily(options.peers[0]!) !== 0) own.add(options.peers[0]!);
  while (!options.signal.aborted) {
    const candidates: string[] = [];
    if (options.serviceName !== undefined) {
      const lookup = await options.gate.addresses(options.serviceName, options.signal).catch(() => undefined);
      candidates.push(...(lookup?.addresses ?? []));
    } else {
      for (let i = 1; i < n && candidates.length < fanout; i++) {
        const name = options.peers[i]!;
        if (ipFamily(name) !== 0) candidates.push(name);
        else {
          const lookup = await options.gate.addresses(name, options.signal).catch(() => undefined);
          candidates.push(...(lookup?.addresses ?? []).slice(0, 1));
        }
      }
    }
    const tries = shuffle(candidates.filter((a) => !own.has(a))).slice(0, fanout);
    const answers = await Promise.all(tries.map((a) => askOne(a, options, wire)));
    const found = answers.find((a) => a !== undefined);
    if (found) return found;
    // sleep() removes its abort listener when the timer wins (a listener per round leaked here before).
    await sleep(interval, options.signal).catch(() => {});
  }
  return undefined;
}

async function askOne(
  address: string,
  options: {
    completions: number;
    port: number;
    listen: string | undefined;
    handshakeTimeoutMs: number;
    signal: AbortSignal;
  },
  wire: WireIdentity,
): Promise<Recovered | undefined> {
  const n = options.completions;
  const socket = connect({
    host: address,
    port: options.port,
    ...(options.listen && ipFamily(options.listen) === ipFamily(address)
      ? { localAddress: options.listen }
      : {}),
  });
  const onAbort = (): void => {
    socket.destroy();
  };
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.min(3000, options.handshakeTimeoutMs));
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!connected) {
      socket.destroy();
      return undefined;
    }
    const channel = new Channel(socket, maxReleaseFrame(n));
    try {
      const deadline = Date.now() + options.handshakeTimeoutMs;
      const challenge = await initiate(channel, wire, 'rejoin', undefined, deadline);
      const m = await channel.receive(deadline + options.handshakeTimeoutMs);
      // The same check a member applies to a release (addresses per pod capped, IP literals only).
      if (m.type !== 'release' || releaseProblem(m, n) !== undefined) return undefined;
      channel.send({ v: PROTOCOL_VERSION, type: 'ack', generation: m.generation });
      const addresses = m.addresses.map((a) => [...a]);
      addresses[0] = [channel.localAddress];
      return { generation: m.generation, addresses, from: { index: challenge.index, address } };
    } catch {
      return undefined;
    } finally {
      // Let the ack go out before the socket ends.
      setTimeout(() => channel.close({ kind: 'local', message: 'recovered' }), 50).unref();
    }
  } finally {
    options.signal.removeEventListener('abort', onAbort);
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
