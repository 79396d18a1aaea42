// The client's view of a response (dns-packet's decode, narrowed to the records it reads) against the whole
// decoded packet: the same match and classification on every valid packet, never a throw on junk.
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyResponse } from '../../src/dns/client-classify.js';
import { matchesQuestion, parseResponse } from '../../src/dns/client-parse.js';
import {
  answersQuestion,
  decodePacket,
  encodePacket,
  encodeQuery,
  wireTypeName,
} from '../../src/dns/packet.js';
import type { QueryType } from '../../src/dns/types.js';

const META = { server: 's', transport: 'udp' as const, elapsedMs: 0 };
const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,12}$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => `${l.join('.')}.example`);
const qtype = fc.oneof(
  fc.constantFrom<QueryType>('A', 'AAAA', 'SRV'),
  fc.integer({ min: 65_280, max: 65_534 }).map((n): QueryType => `TYPE${n}`),
);
const ttl = fc.integer({ min: 0, max: 2 ** 31 - 1 });

function record(owner: fc.Arbitrary<string>): fc.Arbitrary<dnsPacket.Answer> {
  return fc.oneof(
    fc.record({ type: fc.constant('A' as const), name: owner, ttl, data: fc.ipV4() }),
    fc.record({ type: fc.constant('AAAA' as const), name: owner, ttl, data: fc.ipV6() }),
    fc.record({ type: fc.constant('CNAME' as const), name: owner, ttl, data: name }),
    fc.record({
      type: fc.constant('SRV' as const),
      name: owner,
      ttl,
      data: fc.record({
        priority: fc.integer({ min: 0, max: 65_535 }),
        weight: fc.integer({ min: 0, max: 65_535 }),
        port: fc.integer({ min: 0, max: 65_535 }),
        target: name,
      }),
    }),
    fc.record({ type: fc.constant('TXT' as const), name: owner, ttl, data: fc.string({ maxLength: 20 }) }),
    fc.record({
      type: fc.constant('MX' as const),
      name: owner,
      ttl,
      data: fc.record({ preference: fc.nat(100), exchange: name }),
    }),
  ) as fc.Arbitrary<dnsPacket.Answer>;
}

const soa = fc.record({
  type: fc.constant('SOA' as const),
  name,
  ttl,
  data: fc.record({
    mname: name,
    rname: name,
    serial: fc.nat(),
    refresh: fc.nat(),
    retry: fc.nat(),
    expire: fc.nat(),
    minimum: fc.nat(),
  }),
}) as fc.Arbitrary<dnsPacket.Answer>;

const packet = fc
  .record({
    id: fc.integer({ min: 0, max: 65_535 }),
    qname: name,
    qtype,
    rcode: fc.integer({ min: 0, max: 15 }),
    aa: fc.boolean(),
  })
  .chain((h) =>
    fc.record({
      h: fc.constant(h),
      answers: fc.array(record(fc.oneof(fc.constant(h.qname), name)), { maxLength: 6 }),
      authorities: fc.array(fc.oneof(soa, record(name)), { maxLength: 2 }),
      additionals: fc.array(record(name), { maxLength: 3 }),
    }),
  );

function encode(p: {
  h: { id: number; qname: string; qtype: QueryType; rcode: number; aa: boolean };
  answers: dnsPacket.Answer[];
  authorities: dnsPacket.Answer[];
  additionals: dnsPacket.Answer[];
}): Buffer {
  return encodePacket(
    {
      type: 'response',
      id: p.h.id,
      flags: p.h.aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0,
      questions: [{ name: p.h.qname, type: wireTypeName(p.h.qtype), class: 'IN' }],
      answers: p.answers,
      authorities: p.authorities,
      additionals: p.additionals,
    },
    p.h.rcode,
  );
}

describe('parseResponse (the client view of a dns-packet decode)', () => {
  it('matches and classifies every valid packet exactly as the full dns-packet decode does', () => {
    fc.assert(
      fc.property(packet, (p) => {
        const buf = encode(p);
        const expected = { id: p.h.id, name: `${p.h.qname}.`, type: p.h.qtype };
        const ours = parseResponse(buf);
        const theirs = decodePacket(buf);
        expect(ours).toBeDefined();
        expect(theirs).toBeDefined();
        expect(matchesQuestion(ours!, expected)).toBe(answersQuestion(theirs!, expected));
        expect(classifyResponse(ours!, expected.name, expected.type, META)).toEqual(
          classifyResponse(theirs!, expected.name, expected.type, META),
        );
      }),
      { numRuns: 1500 },
    );
  });

  it('never throws on mutated packets, and agrees with dns-packet whenever both accept one', () => {
    const ops = fc.array(
      fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), cut: fc.boolean() }),
      { minLength: 1, maxLength: 4 },
    );
    fc.assert(
      fc.property(packet, ops, (p, mutations) => {
        let buf = encode(p);
        for (const m of mutations) {
          const at = m.at % buf.length;
          if (m.cut) buf = buf.subarray(0, at);
          else buf[at] = m.value;
        }
        const expected = { id: p.h.id, name: `${p.h.qname}.`, type: p.h.qtype };
        const ours = parseResponse(buf);
        const theirs = decodePacket(buf);
        if (ours && theirs && matchesQuestion(ours, expected) && answersQuestion(theirs, expected)) {
          expect(classifyResponse(ours, expected.name, expected.type, META).kind).toBe(
            classifyResponse(theirs, expected.name, expected.type, META).kind,
          );
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const parsed = parseResponse(Buffer.from(bytes));
        if (parsed) matchesQuestion(parsed, { id: parsed.id, name: 'a.example.', type: 'A' });
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects compression loops and forward pointers', () => {
    const loop = Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(parseResponse(loop)).toBeUndefined();
  });

  it('encodes queries as the plain dns-packet query (trailing dot dropped, EDNS0 OPT unless size 0)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 65_535 }),
        name,
        qtype,
        fc.constantFrom(0, 512, 1232, 4096),
        (id, n, t, size) => {
          const theirs = dnsPacket.encode({
            type: 'query',
            id,
            flags: dnsPacket.RECURSION_DESIRED,
            questions: [{ name: n, type: wireTypeName(t), class: 'IN' }],
            additionals:
              size > 0
                ? [
                    {
                      type: 'OPT',
                      name: '.',
                      udpPayloadSize: size,
                      extendedRcode: 0,
                      ednsVersion: 0,
                      flags: 0,
                      flag_do: false,
                      options: [],
                    },
                  ]
                : [],
          });
          expect(encodeQuery(id, `${n}.`, t, size)).toEqual(theirs);
        },
      ),
      { numRuns: 500 },
    );
  });
});
