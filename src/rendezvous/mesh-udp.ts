// The mesh probe over UDP (`--verify mesh`): one socket per member on the agent's port, two datagrams per
// pair (probe-datagram.ts) where TCP needs a connection per pair. Why: at N=64 on 2 cores the 1,953 probe
// connections alone cost the pods ~6 s of CPU (bench/results.md, "Mesh at N=64"), a datagram exchange a few
// per cent of that. A peer that never answers over UDP (a NetworkPolicy that allows only TCP on the port,
// an older agent) is probed over TCP instead (mesh-probe.ts): UDP is the fast path, never the only one.
import dgram from 'node:dgram';
import { ipFamily, literalLookup } from '../dns/ip-bytes.js';
import { newNonce } from './auth.js';
import { normalizeAddress } from './channel.js';
import type { Clock, TimerHandle } from './clock.js';
import type { WireIdentity } from './handshake.js';
import {
  encodeProbe,
  type ProbeDatagram,
  type ProbeParties,
  parseProbe,
  proveStep,
  verifyStep,
} from './probe-datagram.js';

/**
 * When the dialler sends its `open` (ms after the probe started): a lost datagram, or one that waits in a busy
 * peer's socket, is sent again, a few times, more slowly each time.
 */
export const OPEN_SENDS_MS: readonly number[] = [0, 250, 750, 1750];

/** Without an answer this long after the first `open`, the peer is taken not to answer over UDP. */
export const UDP_NO_ANSWER_MS = 3000;

/** What a UDP probe of a peer ended with. */
export type UdpVerdict =
  | { readonly kind: 'proved' }
  /** The peer's agent answered, proved, as another incarnation (a restarted pod at the relayed address). */
  | { readonly kind: 'wrong-identity'; readonly detail: string }
  | { readonly kind: 'no-answer' }
  | { readonly kind: 'aborted' };

export interface ProbeSocketOptions {
  readonly wire: WireIdentity;
  readonly port: number;
  /** The port peers' probe sockets are on (default `port`: every pod uses the same one). */
  readonly peerPort?: number;
  /** The listen address (undefined, `0.0.0.0` or `::`: every address). */
  readonly listen: string | undefined;
  readonly clock: Clock;
  /** Whether a probe from member `index` is taken at all (mesh, a member of the job, not this one). */
  readonly admits: (index: number) => boolean;
  /** Member `index` (incarnation, from `address`) completed a probe of this agent. */
  readonly onProved: (index: number, incarnation: string, address: string) => void;
}

interface Dial {
  readonly address: string;
  readonly index: number;
  readonly incarnation: string;
  readonly done: (v: UdpVerdict) => void;
}

/** One member's UDP probe socket: dials peers (`probe`) and answers their probes. */
export class ProbeSocket {
  readonly #o: ProbeSocketOptions;
  readonly #socket: dgram.Socket;
  /** The socket is dual-stack IPv6: IPv4 peers are addressed as `::ffff:a.b.c.d`. */
  readonly #mapped: boolean;
  /** Probes waiting for their answer, by the nonce of their `open`. */
  readonly #dials = new Map<string, Dial>();
  #closed = false;
  /** Datagrams sent (AgentStats.datagrams). */
  sent = 0;

  private constructor(o: ProbeSocketOptions, socket: dgram.Socket, mapped: boolean) {
    this.#o = o;
    this.#socket = socket;
    this.#mapped = mapped;
    socket.on('message', (bytes, rinfo) =>
      this.#onDatagram(bytes, normalizeAddress(rinfo.address), rinfo.port),
    );
    // A send to an unreachable peer, ICMP errors: the probe's own timer decides; nothing to do here.
    socket.on('error', () => {});
  }

  /** Bind the agent's port over UDP; a string says why it could not be (the mesh then probes over TCP). */
  static async open(o: ProbeSocketOptions): Promise<ProbeSocket | string> {
    const l = o.listen;
    const v4any = { type: 'udp4', host: '0.0.0.0' } as const;
    // As the TCP listener: a given address, IPv4's any, or (none, `::`) dual-stack IPv6, else IPv4's any.
    const attempts: readonly { type: 'udp4' | 'udp6'; host: string }[] =
      l === '0.0.0.0'
        ? [v4any]
        : l === undefined || l === '::'
          ? [{ type: 'udp6', host: '::' }, v4any]
          : [{ type: ipFamily(l) === 6 ? 'udp6' : 'udp4', host: l }];
    let why = '';
    for (const a of attempts) {
      const socket = dgram.createSocket({ type: a.type, ipv6Only: false, lookup: literalLookup });
      const error = await new Promise<Error | undefined>((resolve) => {
        socket.once('error', resolve);
        socket.bind({ port: o.port, address: a.host, exclusive: true }, () => {
          socket.removeAllListeners('error');
          resolve(undefined);
        });
      });
      if (!error) return new ProbeSocket(o, socket, a.type === 'udp6' && a.host === '::');
      why = `cannot bind UDP ${a.host}:${o.port}: ${(error as NodeJS.ErrnoException).code ?? error.message}`;
      socket.close();
    }
    return why;
  }

  /** Probe member `index` at `address`: it must prove `incarnation` with the token, and answer from there. */
  probe(address: string, index: number, incarnation: string, signal: AbortSignal): Promise<UdpVerdict> {
    const { wire, clock } = this.#o;
    return new Promise((resolve) => {
      if (this.#closed || signal.aborted) {
        resolve({ kind: this.#closed ? 'no-answer' : 'aborted' });
        return;
      }
      const n = newNonce();
      const parties: ProbeParties = {
        job: wire.job,
        dialler: { index: wire.index, incarnation: wire.incarnation },
        acceptor: { index, incarnation },
        n,
      };
      const bytes = encodeProbe({
        step: 'open',
        job: wire.job,
        from: wire.index,
        inc: wire.incarnation,
        to: index,
        toInc: incarnation,
        n,
        proof: proveStep(wire.token, 'open', parties),
      });
      const timers: TimerHandle[] = [];
      const done = (v: UdpVerdict): void => {
        if (!this.#dials.delete(n)) return;
        for (const t of timers) clock.clearTimeout(t);
        signal.removeEventListener('abort', abort);
        resolve(v);
      };
      const abort = (): void => done({ kind: 'aborted' });
      this.#dials.set(n, { address, index, incarnation, done });
      signal.addEventListener('abort', abort, { once: true });
      const port = this.#o.peerPort ?? this.#o.port;
      for (const at of OPEN_SENDS_MS)
        timers.push(clock.setTimeout(() => this.#send(bytes, address, port), at));
      timers.push(clock.setTimeout(() => done({ kind: 'no-answer' }), UDP_NO_ANSWER_MS));
    });
  }

  /** Stop: pending probes end as `no-answer`, the socket closes. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const d of [...this.#dials.values()]) d.done({ kind: 'no-answer' });
    this.#socket.close();
  }

  #send(bytes: Buffer, address: string, port: number): void {
    if (this.#closed) return;
    this.sent++;
    const to = this.#mapped && ipFamily(address) === 4 ? `::ffff:${address}` : address;
    this.#socket.send(bytes, port, to, () => {});
  }

  #onDatagram(bytes: Buffer, address: string, port: number): void {
    if (this.#closed) return;
    const d = parseProbe(bytes);
    const { wire } = this.#o;
    // Another job's, another index's, or a stranger's bytes: dropped without a word.
    if (!d || d.job !== wire.job || d.to !== wire.index || d.from === wire.index) return;
    if (d.step === 'open') this.#onOpen(d, address, port);
    else this.#onAnswer(d, address);
  }

  /**
   * Acceptor: a dialler's probe. Answered (every copy, to where it came from: nothing is kept) only when it
   * proves the token; the dialler is then counted as having reached this agent from `address`. A dialler that
   * took this agent for an earlier incarnation of its index (the coordinator's view was older) gets the
   * answer of this one, and so learns at once that the peer it meant is gone.
   */
  #onOpen(d: ProbeDatagram, address: string, port: number): void {
    const { wire } = this.#o;
    if (!this.#o.admits(d.from)) return;
    const opened: ProbeParties = {
      job: wire.job,
      dialler: { index: d.from, incarnation: d.inc },
      acceptor: { index: wire.index, incarnation: d.toInc! },
      n: d.n,
    };
    if (!verifyStep(wire.token, 'open', opened, d.proof)) return;
    const answered: ProbeParties = {
      ...opened,
      acceptor: { index: wire.index, incarnation: wire.incarnation },
    };
    this.#send(
      encodeProbe({
        step: 'answer',
        job: wire.job,
        from: wire.index,
        inc: wire.incarnation,
        to: d.from,
        n: d.n,
        proof: proveStep(wire.token, 'answer', answered),
      }),
      address,
      port,
    );
    this.#o.onProved(d.from, d.inc, address);
  }

  /** Dialler: the peer's answer to one of our opens (a copy after the first is nobody's any more). */
  #onAnswer(d: ProbeDatagram, address: string): void {
    const { wire } = this.#o;
    const dial = this.#dials.get(d.n);
    if (!dial || address !== dial.address || d.from !== dial.index) return;
    const parties: ProbeParties = {
      job: wire.job,
      dialler: { index: wire.index, incarnation: wire.incarnation },
      acceptor: { index: d.from, incarnation: d.inc },
      n: d.n,
    };
    if (!verifyStep(wire.token, 'answer', parties, d.proof)) return;
    dial.done(
      d.inc === dial.incarnation
        ? { kind: 'proved' }
        : {
            kind: 'wrong-identity',
            detail: `${address} answers as incarnation ${d.inc}, expected ${dial.incarnation}`,
          },
    );
  }
}
