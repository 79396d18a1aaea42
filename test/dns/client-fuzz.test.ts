// Junk on a live socket: random and mutated datagrams carrying our ID arrive before the real answer.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsClient } from '../../src/dns/client.js';
import { answer, aRecords, type Responder, startResponder } from './client-responder.js';

let junk: Uint8Array[] = [];
let responder: Responder;
let client: DnsClient;

beforeAll(async () => {
  responder = await startResponder((q, reply) => {
    const id = q.packet.id;
    for (const bytes of junk) {
      const copy = Buffer.from(bytes);
      if (copy.length >= 2) copy.writeUInt16BE(id, 0); // past the ID check, into the decoder and matcher
      reply.send(copy);
    }
    setTimeout(() => reply.send(answer(q.packet, { answers: aRecords(q.packet, 1, 11) })), 5);
  });
  client = new DnsClient({ servers: [responder.server], timeoutMs: 2000, attempts: 1 });
});

afterAll(async () => {
  await client.close();
  await responder.close();
});

describe('DnsClient on a live socket fed with junk', () => {
  it('never crashes and still classifies an answer when random datagrams with our ID come first', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), async (datagrams) => {
        junk = datagrams;
        const result = await client.query('fuzz.example.', 'A');
        // Random bytes essentially never form a valid answer to our exact question, so the real one wins.
        expect(['records', 'nxdomain', 'nodata', 'servfail', 'refused', 'error']).toContain(result.kind);
      }),
      { numRuns: 40 },
    );
  });

  it('accepts the real answer after mutated copies of a plausible one (wrong question, QR=0, cut short)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 255 }),
        async (cut, byte) => {
          const base = answer(
            {
              id: 0,
              type: 'query',
              questions: [{ name: 'other.example', type: 'A', class: 'IN' }],
            } as never,
            { answers: [{ type: 'A', name: 'fuzz.example', ttl: 1, data: '192.0.2.1' }] },
          );
          const qr0 = Buffer.from(base);
          qr0[2] = qr0[2]! & 0x7f;
          const shortened = base.subarray(0, Math.max(2, base.length - cut));
          const flipped = Buffer.from(base);
          flipped[12 + (cut % 10)] = byte;
          junk = [base, qr0, shortened, flipped];
          const result = await client.query('fuzz.example.', 'A');
          expect(result).toMatchObject({ kind: 'records', ttl: 11, records: [{ address: '10.0.0.0' }] });
        },
      ),
      { numRuns: 30 },
    );
  });
});
