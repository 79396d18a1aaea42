// TCP transport of the stub resolver (RFC 7766): one connection per question, 2-byte length framing,
// partial reads reassembled, messages that do not answer our question skipped.
import net from 'node:net';
import { matchesQuestion, parseResponse } from './client-parse.js';
import type { ExchangeOutcome, Expected } from './client-udp.js';
import { frameForTcp } from './packet.js';
import type { DnsServerAddress } from './types.js';

/** Ask `server` over TCP and wait up to `timeoutMs` for the answer to `expected`. */
export function tcpExchange(
  server: DnsServerAddress,
  expected: Expected,
  query: Buffer,
  timeoutMs: number,
  onCancel: (cancel: () => void) => void,
): Promise<ExchangeOutcome> {
  return new Promise<ExchangeOutcome>((resolve) => {
    let settled = false;
    let buffered: Buffer = Buffer.alloc(0);
    const socket = net.createConnection({ host: server.host, port: server.port, noDelay: true });
    const settle = (outcome: ExchangeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
    onCancel(() => settle({ kind: 'cancelled' }));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      settle({ kind: 'error', reason: err.code ?? err.message }),
    );
    socket.on('close', () => settle({ kind: 'error', reason: 'connection closed before the answer' }));
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < length + 2) return;
        const message = buffered.subarray(2, length + 2);
        buffered = buffered.subarray(length + 2);
        const packet = parseResponse(message);
        if (packet !== undefined && matchesQuestion(packet, expected)) {
          settle({ kind: 'answer', packet });
          return;
        }
      }
    });
    socket.write(frameForTcp(query));
  });
}
