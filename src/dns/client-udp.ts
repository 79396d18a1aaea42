// UDP transport of the stub resolver: connect()ed sockets to one server, answers matched on ID and question.
import dgram from 'node:dgram';
import { matchesQuestion, type ParsedResponse, parseResponse } from './client-parse.js';
import { ipFamily, literalLookup } from './ip-bytes.js';
import { rawId, rawLooksLikeAnswer } from './packet.js';
import type { DnsServerAddress, QueryType } from './types.js';

/** What one send/receive exchange ended with. */
export type ExchangeOutcome =
  | { readonly kind: 'answer'; readonly packet: ParsedResponse }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly reason: string }
  | { readonly kind: 'cancelled' };

/** The question an answer must match. */
export interface Expected {
  readonly id: number;
  readonly name: string;
  readonly type: QueryType;
  /** `name` lower-cased without the trailing dot, computed once per question. */
  readonly canonical?: string;
}

interface Pending {
  readonly expected: Expected;
  readonly done: (outcome: ExchangeOutcome) => void;
}

/**
 * One connected UDP socket to one server. Several queries may share it (distinct IDs); after
 * `maxQueries` it is retired and closes once its last query is done, so source ports keep changing.
 */
class UdpChannel {
  readonly #socket: dgram.Socket;
  readonly #pending = new Map<number, Pending>();
  readonly #onClosed: (channel: UdpChannel) => void;
  used = 0;
  #retiring = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #connected = false;
  /** Sends made before connect() completed (dgram needs an address until then). */
  readonly #waiting: (() => void)[] = [];

  constructor(server: DnsServerAddress, onClosed: (channel: UdpChannel) => void) {
    this.#onClosed = onClosed;
    this.#socket = dgram.createSocket({
      type: ipFamily(server.host) === 6 ? 'udp6' : 'udp4',
      lookup: literalLookup,
    });
    this.#socket.on('message', (msg) => this.#onMessage(msg));
    // ICMP port unreachable on a connected socket (ECONNREFUSED), send failures…: every query here fails.
    this.#socket.on('error', (err) => this.#failAll(errorReason(err)));
    this.#socket.connect(server.port, server.host, () => {
      this.#connected = true;
      for (const send of this.#waiting.splice(0)) send();
    });
  }

  /** True when new queries should go to a fresh channel. */
  get spent(): boolean {
    return this.#retiring || this.#closed;
  }

  /** Send `query` and call `done` once with the matching answer or a transport error. */
  register(expected: Expected, query: Buffer, done: (outcome: ExchangeOutcome) => void): void {
    this.#pending.set(expected.id, { expected, done });
    // A send error fails every query on this socket. It needs the callback: without one Node drops an error
    // the send returns at once (ECONNREFUSED left on the socket by an earlier query's ICMP port unreachable,
    // which that send then consumes), and every query on the socket waits for its timeout instead.
    if (this.#connected) this.#send(query);
    else {
      this.#waiting.push(() => {
        if (!this.#closed && this.#pending.has(expected.id)) this.#send(query);
      });
    }
  }

  #send(query: Buffer): void {
    this.#socket.send(query, (err) => {
      if (err) this.#failAll(errorReason(err));
    });
  }

  /** Forget a query (timed out or cancelled); closes the socket when retired and idle. */
  unregister(id: number): void {
    this.#pending.delete(id);
    this.#closeIfIdle();
  }

  /** No new queries; close when the last one is done. */
  retire(): void {
    this.#retiring = true;
    this.#closeIfIdle();
  }

  /** Cancel every query and close the socket. */
  close(): Promise<void> {
    this.#failAll(undefined);
    return this.#close();
  }

  #onMessage(msg: Buffer): void {
    const id = rawId(msg);
    if (id === undefined) return;
    const pending = this.#pending.get(id);
    if (pending === undefined || !rawLooksLikeAnswer(msg)) return;
    const packet = parseResponse(msg);
    if (packet === undefined || !matchesQuestion(packet, pending.expected)) return;
    this.#finish(id, { kind: 'answer', packet });
  }

  #finish(id: number, outcome: ExchangeOutcome): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    pending.done(outcome);
    this.#closeIfIdle();
  }

  #failAll(reason: string | undefined): void {
    this.#retiring = true;
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) p.done(reason === undefined ? { kind: 'cancelled' } : { kind: 'error', reason });
    this.#closeIfIdle();
  }

  #closeIfIdle(): void {
    if (this.#retiring && this.#pending.size === 0) void this.#close();
  }

  #close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#closing = new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // already closed by an error path
      }
    }).then(() => this.#onClosed(this));
    return this.#closing;
  }
}

/** UDP exchanges with one server over a rotating set of connected sockets. */
export class UdpTransport {
  readonly #server: DnsServerAddress;
  readonly #queriesPerSocket: number;
  readonly #channels = new Set<UdpChannel>();
  #current: UdpChannel | undefined;

  constructor(server: DnsServerAddress, queriesPerSocket: number) {
    this.#server = server;
    this.#queriesPerSocket = queriesPerSocket;
  }

  /** Send one query and wait up to `timeoutMs` for its answer; `cancel` ends the wait early. */
  exchange(
    expected: Expected,
    query: Buffer,
    timeoutMs: number,
    onCancel: (cancel: () => void) => void,
  ): Promise<ExchangeOutcome> {
    const channel = this.#acquire();
    return new Promise<ExchangeOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: ExchangeOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        channel.unregister(expected.id);
        if (outcome.kind === 'timeout') {
          // A socket that lost an answer may be stuck (a stale route, a middlebox mapping): the next
          // question goes out on a fresh socket and port.
          if (this.#current === channel) this.#current = undefined;
          channel.retire();
        }
        resolve(outcome);
      };
      const timer = setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
      onCancel(() => settle({ kind: 'cancelled' }));
      channel.register(expected, query, settle);
      if (channel.used >= this.#queriesPerSocket) {
        // Retire now so the socket closes as soon as its last answer arrives.
        if (this.#current === channel) this.#current = undefined;
        channel.retire();
      }
    });
  }

  /** Close every socket (in-flight exchanges end as cancelled). */
  async close(): Promise<void> {
    this.#current = undefined;
    await Promise.all([...this.#channels].map((c) => c.close()));
  }

  #acquire(): UdpChannel {
    let channel = this.#current;
    if (channel === undefined || channel.spent || channel.used >= this.#queriesPerSocket) {
      channel?.retire();
      channel = new UdpChannel(this.#server, (c) => {
        this.#channels.delete(c);
        if (this.#current === c) this.#current = undefined;
      });
      this.#channels.add(channel);
      this.#current = channel;
    }
    channel.used++;
    return channel;
  }
}

function errorReason(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? err.message;
}
