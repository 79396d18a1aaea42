// The server's sockets: UDP and TCP bound to one port, and TCP's 2-byte length framing with pipelining.
import dgram from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { ipFamily } from './ip-bytes.js';

/** How often `bindBoth` with port 0 tries again when TCP finds the UDP port taken. */
const BIND_ATTEMPTS = 20;
/** Unsent TCP answer bytes after which a connection that does not read is closed. */
const MAX_TCP_BACKLOG = 1024 * 1024;

/** Read length-framed messages from a TCP connection and hand each to `handle` with a `send` for its answer;
 * a message `handle` rejects (false) closes the connection. */
export function frameTcpMessages(
  socket: Socket,
  handle: (message: Buffer, send: (out: Buffer) => void) => boolean,
): void {
  const send = (out: Buffer) => {
    if (socket.destroyed || !socket.writable) return;
    // A client that pipelines queries but never reads would make us buffer without bound.
    if (socket.writableLength > MAX_TCP_BACKLOG) socket.destroy();
    else socket.write(out);
  };
  // Chunks of an incomplete message are kept apart and joined once the whole message is there, so a
  // message trickling in byte by byte costs one copy, not one per byte.
  let chunks: Buffer[] = [];
  let buffered = 0;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    if (buffered < 2) return;
    if (chunks[0]!.length < 2) chunks = [Buffer.concat(chunks, buffered)];
    if (buffered < 2 + chunks[0]!.readUInt16BE(0)) return;
    const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
    let offset = 0;
    // Answers to the queries of one read leave in one write.
    socket.cork();
    while (buf.length - offset >= 2) {
      const length = buf.readUInt16BE(offset);
      if (buf.length - offset - 2 < length) break;
      const message = buf.subarray(offset + 2, offset + 2 + length);
      offset += 2 + length;
      if (!handle(message, send)) {
        socket.uncork();
        socket.destroy();
        return;
      }
    }
    socket.uncork();
    chunks = offset < buf.length ? [Buffer.from(buf.subarray(offset))] : [];
    buffered = buf.length - offset;
  });
}

/** Bind UDP, then TCP on the same port; with port 0 retry when TCP finds the port taken. */
export async function bindBoth(
  host: string,
  port: number,
): Promise<{ udp: dgram.Socket; tcp: Server; port: number }> {
  const type = ipFamily(host) === 6 ? 'udp6' : 'udp4';
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket({ type });
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        udp.close();
        reject(error);
      };
      udp.once('error', fail);
      udp.bind(port, host, () => {
        udp.off('error', fail);
        resolve();
      });
    });
    try {
      // Room for bursts (1024 agents asking at once); the kernel caps it at rmem_max.
      udp.setRecvBufferSize(4 * 1024 * 1024);
      udp.setSendBufferSize(4 * 1024 * 1024);
    } catch {
      // Best effort only.
    }
    const actual = udp.address().port;
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ port: actual, host, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port: actual };
    } catch (error) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      const code = (error as NodeJS.ErrnoException).code;
      if (port !== 0 || code !== 'EADDRINUSE' || attempt >= BIND_ATTEMPTS) throw error;
    }
  }
}
