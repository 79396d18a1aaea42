// Length-prefixed JSON frames: 4-byte big-endian length, then UTF-8 JSON. Bounded in size.
import { RendezvousError } from '../errors.js';

/** Header bytes before each frame's payload. */
export const FRAME_HEADER = 4;

/** Encode one message as a frame. */
export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, FRAME_HEADER);
  return frame;
}

/** Thrown by the decoder: the peer sent something that is not our protocol. The connection must be closed. */
export class ProtocolError extends RendezvousError {
  constructor(message: string) {
    super('RDV_ERR_PROTOCOL', message);
  }
}

/**
 * Incremental frame decoder. Holds at most one frame's bytes (≤ maxFrame + header); a declared length above
 * `maxFrame` is rejected before any payload is buffered.
 */
export class FrameDecoder {
  readonly #maxFrame: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(maxFrame: number) {
    this.#maxFrame = maxFrame;
  }

  /** Bytes currently held. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Feed bytes; returns every complete message. Throws ProtocolError on an oversized frame or bad JSON. */
  push(chunk: Buffer): unknown[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.#buffered < FRAME_HEADER) break;
      const head = this.#peek(FRAME_HEADER);
      const length = head.readUInt32BE(0);
      if (length > this.#maxFrame) {
        throw new ProtocolError(`frame of ${length} bytes is larger than the limit of ${this.#maxFrame}`);
      }
      if (this.#buffered < FRAME_HEADER + length) break;
      const all = this.#take(FRAME_HEADER + length);
      let message: unknown;
      try {
        message = JSON.parse(all.subarray(FRAME_HEADER).toString('utf8'));
      } catch {
        throw new ProtocolError('frame is not valid JSON');
      }
      out.push(message);
    }
    return out;
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0]!.length >= n) return this.#chunks[0]!;
    const joined = Buffer.concat(this.#chunks);
    this.#chunks = [joined];
    return joined;
  }

  #take(n: number): Buffer {
    const joined = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const head = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return head;
  }
}
