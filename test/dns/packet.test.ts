import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyResponse, negativeTtl } from '../../src/dns/client-classify.js';
import {
  answersQuestion,
  decodePacket,
  ednsOpt,
  encodePacket,
  encodeQuery,
  frameForTcp,
  rawId,
  rawLooksLikeAnswer,
  wireTypeName,
} from '../../src/dns/packet.js';
import { type QueryType, RCODE } from '../../src/dns/types.js';

const META = { server: '127.0.0.1:53', transport: 'udp' as const, elapsedMs: 1 };

function response(
  id: number,
  name: string,
  type: QueryType,
  answers: dnsPacket.Answer[] = [],
  rcode = 0,
): Buffer {
  return encodePacket(
    {
      type: 'response',
      id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [{ name, type: wireTypeName(type), class: 'IN' }],
      answers,
      authorities: [
        {
          type: 'SOA',
          name: 'cluster.local',
          ttl: 30,
          data: { mname: 'ns', rname: 'h', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 5 },
        },
      ],
    },
    rcode,
  );
}

describe('packet codec wrapper', () => {
  it('encodes a query with RD, one question and the EDNS0 OPT, and round-trips', () => {
    const buf = encodeQuery(0xbeef, 'job-0.svc.ns.svc.cluster.local.', 'SRV');
    const p = decodePacket(buf)!;
    expect(p).toMatchObject({ id: 0xbeef, type: 'query', opcode: 'QUERY', rcode: 'NOERROR', flag_rd: true });
    expect(p.questions).toEqual([{ name: 'job-0.svc.ns.svc.cluster.local', type: 'SRV', class: 'IN' }]);
    expect(p.additionals).toEqual([expect.objectContaining(ednsOpt(1232))]);
    expect(dnsPacket.encode(p)).toEqual(buf);
    expect(rawId(buf)).toBe(0xbeef);
    expect(rawLooksLikeAnswer(buf)).toBe(false);
  });

  it('sends no OPT record when the payload size is 0', () => {
    expect(decodePacket(encodeQuery(1, 'a.', 'A', 0))!.additionals).toEqual([]);
  });

  it('puts the rcode in the low bits of the flags and reads it back as a name', () => {
    const buf = response(7, 'gone.cluster.local', 'A', [], RCODE.NXDOMAIN);
    const p = decodePacket(buf)!;
    expect(p.rcode).toBe('NXDOMAIN');
    expect(p.flag_aa).toBe(true);
    expect(rawLooksLikeAnswer(buf)).toBe(true);
  });

  it('frames messages for TCP with a 2-byte length and refuses oversized ones', () => {
    expect(frameForTcp(Buffer.from([1, 2, 3]))).toEqual(Buffer.from([0, 3, 1, 2, 3]));
    expect(() => frameForTcp(Buffer.alloc(65_536))).toThrow(RangeError);
  });

  it('matches only a response with our ID, opcode QUERY and exactly our question', () => {
    const expected = { id: 42, name: 'Job-0.Example.', type: 'A' as const };
    const ok = decodePacket(response(42, 'job-0.EXAMPLE', 'A'))!;
    expect(answersQuestion(ok, expected)).toBe(true);
    expect(answersQuestion(decodePacket(response(43, 'job-0.example', 'A'))!, expected)).toBe(false);
    expect(answersQuestion(decodePacket(response(42, 'job-1.example', 'A'))!, expected)).toBe(false);
    expect(answersQuestion(decodePacket(response(42, 'job-0.example', 'AAAA'))!, expected)).toBe(false);
    const query = decodePacket(encodeQuery(42, 'job-0.example.', 'A'))!;
    expect(answersQuestion(query, expected)).toBe(false);
  });

  it('computes the negative TTL as min(SOA TTL, MINIMUM)', () => {
    expect(negativeTtl(decodePacket(response(1, 'x.cluster.local', 'A', [], RCODE.NXDOMAIN))!)).toBe(5);
  });

  it('returns undefined instead of throwing for packets dns-packet cannot decode', () => {
    expect(decodePacket(Buffer.alloc(0))).toBeUndefined();
    expect(decodePacket(Buffer.alloc(11))).toBeUndefined();
    const truncated = response(1, 'job-0.example', 'A', [
      { type: 'A', name: 'job-0.example', ttl: 5, data: '10.0.0.1' },
    ]);
    expect(decodePacket(truncated.subarray(0, truncated.length - 3))).toBeUndefined();
    // A compression pointer that points at itself.
    const loop = Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(() => decodePacket(loop)).not.toThrow();
  });
});

describe('decoder and matcher under random and mutated input (fast-check)', () => {
  const kinds = ['records', 'nxdomain', 'nodata', 'servfail', 'refused', 'error'];

  /** Run bytes through everything the client does with a UDP datagram; must never throw. */
  function feed(bytes: Uint8Array, expected: { id: number; name: string; type: QueryType }): void {
    rawId(bytes);
    rawLooksLikeAnswer(bytes);
    const p = decodePacket(bytes);
    if (p === undefined) return;
    if (answersQuestion(p, expected))
      expect(kinds).toContain(classifyResponse(p, expected.name, expected.type, META).kind);
  }

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        feed(bytes, { id: rawId(bytes) ?? 0, name: 'a.example.', type: 'A' });
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on mutated valid answers (flipped bytes, cuts, splices)', () => {
    const types: QueryType[] = ['A', 'AAAA', 'SRV'];
    const valid = fc.record({
      id: fc.integer({ min: 0, max: 65_535 }),
      type: fc.constantFrom(...types),
      count: fc.integer({ min: 0, max: 8 }),
      rcode: fc.integer({ min: 0, max: 15 }),
    });
    const mutation = fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
        fc.record({
          op: fc.constant('insert' as const),
          at: fc.nat(),
          bytes: fc.uint8Array({ maxLength: 8 }),
        }),
      ),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(valid, mutation, ({ id, type, count, rcode }, ops) => {
        const name = 'job-0.svc.ns.svc.cluster.local';
        const answers: dnsPacket.Answer[] = Array.from({ length: count }, (_, i) =>
          type === 'SRV'
            ? {
                type: 'SRV',
                name,
                ttl: i,
                data: { priority: 0, weight: 1, port: 80 + i, target: `t${i}.${name}` },
              }
            : type === 'A'
              ? { type: 'A', name, ttl: i, data: `10.0.0.${i}` }
              : { type: 'AAAA', name, ttl: i, data: `fd00::${i}` },
        );
        let bytes: Buffer = response(id, name, type, answers, rcode);
        for (const op of ops) {
          const at = op.at % (bytes.length + 1);
          if (op.op === 'set' && at < bytes.length) bytes[at] = op.value;
          else if (op.op === 'cut') bytes = bytes.subarray(0, at);
          else if (op.op === 'insert')
            bytes = Buffer.concat([bytes.subarray(0, at), op.bytes, bytes.subarray(at)]);
        }
        feed(bytes, { id, name: `${name}.`, type });
      }),
      { numRuns: 2000 },
    );
  });
});
