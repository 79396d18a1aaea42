// A framed, validated message channel over one TCP socket, with bounded buffering and deadlines.
import type { Socket } from 'node:net';
import { encodeFrame, FrameDecoder, ProtocolError } from './frames.js';
import {
  type Message,
  PROTOCOL_VERSION,
  parseMessage,
  VersionMismatchError,
  versionText,
} from './messages.js';

/** Frames from members are small; the coordinator's release frame grows with the roster. */
export const MAX_MEMBER_FRAME = 64 * 1024;

/** Largest release frame a member accepts for `completions` pods (a few addresses each, 1 MiB floor). */
export function maxReleaseFrame(completions: number): number {
  return Math.max(1024 * 1024, completions * 256);
}

/** Why a channel ended. */
export type CloseReason =
  | { kind: 'closed' }
  | { kind: 'error'; message: string }
  | { kind: 'protocol'; message: string }
  /** The peer's frames are of another protocol version (a `version` reject was sent to it). */
  | { kind: 'version'; message: string }
  | { kind: 'local'; message: string };

/** Messages in, messages out, one socket. Closing is idempotent; every waiter is settled on close. */
export class Channel {
  readonly socket: Socket;
  readonly remoteAddress: string;
  readonly localAddress: string;
  #decoder: FrameDecoder;
  #queue: Message[] = [];
  #waiters: { resolve: (m: Message) => void; reject: (e: Error) => void }[] = [];
  #closed: CloseReason | undefined;
  #onMessage: ((m: Message) => void) | undefined;
  #onClose: ((r: CloseReason) => void)[] = [];
  /** Messages held before a handler is set (bounded: a peer cannot make us buffer without end). */
  #maxQueued = 64;

  constructor(socket: Socket, maxFrame: number) {
    this.socket = socket;
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.localAddress = normalizeAddress(socket.localAddress ?? '');
    this.#decoder = new FrameDecoder(maxFrame);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    socket.on('error', (err) => this.close({ kind: 'error', message: err.message }));
    socket.on('close', () => this.close({ kind: 'closed' }));
  }

  /** Set once the channel has ended. */
  get closed(): CloseReason | undefined {
    return this.#closed;
  }

  /**
   * Allow more messages to wait for the handler: a member that joins receives one `peer` message for every
   * member already there (mesh) in the same burst as the end of the handshake.
   */
  setMaxQueued(max: number): void {
    this.#maxQueued = max;
  }

  /** Raise the frame limit (a member expecting a large release). */
  setMaxFrame(maxFrame: number): void {
    const old = this.#decoder;
    if (old.buffered === 0) this.#decoder = new FrameDecoder(maxFrame);
  }

  /** After the handshake: deliver every further message to `handler` (queued ones first). */
  onMessage(handler: (m: Message) => void): void {
    this.#onMessage = handler;
    const queued = this.#queue;
    this.#queue = [];
    for (const m of queued) handler(m);
  }

  /** Call `handler` once when the channel ends (at once if it has). */
  onClose(handler: (r: CloseReason) => void): void {
    if (this.#closed) handler(this.#closed);
    else this.#onClose.push(handler);
  }

  /** Send one message; false if the channel has ended. */
  send(message: Message): boolean {
    return this.sendFrame(encodeFrame(message));
  }

  /** Send a frame encoded once for many channels (the release). */
  sendFrame(frame: Buffer): boolean {
    if (this.#closed || this.socket.destroyed) return false;
    this.socket.write(frame);
    return true;
  }

  /**
   * The next message, or a rejection when the channel closes or `deadline` (epoch ms) passes (then the
   * channel closes with `late` as the reason).
   */
  receive(
    deadline: number,
    now: () => number = Date.now,
    late = 'handshake deadline passed',
  ): Promise<Message> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closed) return Promise.reject(closedError(this.#closed));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (m: Message) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(
        () => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new ProtocolError(late));
          this.close({ kind: 'local', message: late }, true);
        },
        Math.max(0, deadline - now()),
      );
      this.#waiters.push(waiter);
    });
  }

  /**
   * End the channel: flush what was sent, then close; settle waiters. `abandon`: do not wait for the peer at
   * all, free the socket as soon as our last bytes are with the kernel (a shed or silent connection: an idle
   * client that never reads must not hold a file descriptor for the second a graceful close waits).
   */
  close(reason: CloseReason = { kind: 'local', message: 'closed' }, abandon = false): void {
    if (this.#closed) return;
    this.#closed = reason;
    if (!this.socket.destroyed) {
      this.socket.end();
      if (abandon) {
        if (this.socket.writableFinished) this.socket.destroy();
        else this.socket.once('finish', () => this.socket.destroy());
      }
      // A peer that never reads must not keep the socket: destroy soon after (no timer left behind once
      // the socket closed: in a mesh every probe's connection would wake the process a second later).
      const timer = setTimeout(() => this.socket.destroy(), 1000).unref();
      this.socket.once('close', () => clearTimeout(timer));
    }
    // Build the error only for someone waiting: an Error's stack trace costs more than the rest of close().
    if (this.#waiters.length > 0) {
      const err = closedError(reason);
      for (const w of this.#waiters.splice(0)) w.reject(err);
    }
    for (const h of this.#onClose.splice(0)) h(reason);
  }

  #data(chunk: Buffer): void {
    if (this.#closed) return;
    let messages: Message[];
    try {
      messages = this.#decoder.push(chunk).map(parseMessage);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof VersionMismatchError) {
        // Say why before hanging up (gracefully: the reject must get out): the other agent can then report
        // mixed releases instead of a connection that just closed.
        this.send({
          v: PROTOCOL_VERSION,
          type: 'reject',
          code: 'version',
          reason: `this agent speaks protocol version ${PROTOCOL_VERSION}, not ${versionText(error.peerVersion)}: run the same peer-rendezvous release in every pod`,
        });
        this.close({ kind: 'version', message });
        return;
      }
      this.close({ kind: 'protocol', message });
      this.socket.destroy();
      return;
    }
    for (const m of messages) {
      if (this.#closed) return;
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(m);
      else if (this.#onMessage) this.#onMessage(m);
      else if (this.#queue.length < this.#maxQueued) this.#queue.push(m);
      else {
        this.close({ kind: 'protocol', message: 'too many unread messages' });
        this.socket.destroy();
        return;
      }
    }
  }
}

function closedError(reason: CloseReason): Error {
  switch (reason.kind) {
    case 'closed':
      return new ProtocolError('connection closed by peer');
    case 'error':
      return new ProtocolError(`connection error: ${reason.message}`);
    case 'protocol':
      return new ProtocolError(`protocol violation: ${reason.message}`);
    case 'version':
      return new ProtocolError(reason.message);
    case 'local':
      return new ProtocolError(reason.message);
  }
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, so v4-mapped sockets compare equal to A records. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
