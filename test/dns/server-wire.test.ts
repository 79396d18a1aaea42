// The server's hand-written wire code, checked against dns-packet (an independent codec).
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  emptyAnswer,
  encodeRecord,
  type ParsedQuery,
  parseQuery,
  writeResponse,
} from '../../src/dns/server-wire.js';
import { RCODE } from '../../src/dns/types.js';
import type { ZoneRecord } from '../../src/dns/zone-types.js';

type Decoded = dnsPacket.DecodedPacket & {
  rcode: string;
  opcode: string;
  flag_tc: boolean;
  flag_aa: boolean;
};

const OPT = {
  type: 'OPT',
  name: '.',
  udpPayloadSize: 1232,
  extendedRcode: 0,
  ednsVersion: 0,
  flags: 0,
  flag_do: false,
  options: [],
} as const;

function query(
  name: string,
  type: dnsPacket.RecordType = 'A',
  extra: Partial<dnsPacket.Packet> = {},
): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 0x1234,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    ...extra,
  });
}

function parsed(msg: Buffer): ParsedQuery {
  const q = parseQuery(msg);
  if (q === undefined) throw new Error('did not parse');
  return q;
}

const a = (i: number): ZoneRecord => ({
  type: 'A',
  name: 'svc.ns.svc.cluster.local',
  ttl: 5,
  address: `10.0.${i >> 8}.${i & 255}`,
});

describe('parseQuery', () => {
  it('reads id, opcode, RD, the lower-case name, type, class and EDNS', () => {
    const q = parsed(
      query('Job-0.SVC.ns.svc.cluster.local.', 'AAAA', {
        additionals: [{ ...OPT, udpPayloadSize: 4000, flags: dnsPacket.DNSSEC_OK }] as never,
      }),
    );
    expect(q).toMatchObject({
      id: 0x1234,
      opcode: 0,
      qdcount: 1,
      name: 'job-0.svc.ns.svc.cluster.local',
      qtype: 28,
      qclass: 1,
    });
    expect(q.echoFlags).toBe(0x0100);
    expect(q.edns).toEqual({ udpPayloadSize: 4000, version: 0, dnssecOk: true });
    expect(q.ambiguous).toBe(false);
  });

  it('ignores responses, short packets, truncated questions and compression in the question', () => {
    const ok = query('a.b');
    expect(parseQuery(ok.subarray(0, 11))).toBeUndefined();
    expect(parseQuery(ok.subarray(0, ok.length - 1))).toBeUndefined();
    const response = Buffer.from(ok);
    response[2]! |= 0x80;
    expect(parseQuery(response)).toBeUndefined();
    const pointer = Buffer.concat([ok.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    expect(parseQuery(pointer)).toBeUndefined();
    const longLabel = Buffer.concat([
      ok.subarray(0, 12),
      Buffer.from([64]),
      Buffer.alloc(64, 97),
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
    expect(parseQuery(longLabel)).toBeUndefined();
  });

  it('rejects names over 255 bytes and additional records running past the end', () => {
    const labels = Array.from({ length: 5 }, () => 'x'.repeat(63)).join('.');
    const header = query('a').subarray(0, 12);
    const wire = Buffer.concat([
      header,
      ...labels.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
    expect(parseQuery(wire)).toBeUndefined();
    const withOpt = query('a.b', 'A', { additionals: [OPT] as never });
    expect(parseQuery(withOpt.subarray(0, withOpt.length - 2))).toBeUndefined();
  });

  it('marks names whose labels contain dots as ambiguous', () => {
    const header = query('a').subarray(0, 12);
    const wire = Buffer.concat([header, Buffer.from([3]), Buffer.from('a.b'), Buffer.from([0, 0, 1, 0, 1])]);
    expect(parsed(wire)).toMatchObject({ name: 'a.b', ambiguous: true });
  });

  it('parses qdcount ≠ 1 without a question so the server can answer FORMERR', () => {
    const none = Buffer.from(query('a'));
    none.writeUInt16BE(0, 4);
    expect(parsed(none)).toMatchObject({ qdcount: 0, questionEnd: 12 });
    const two = Buffer.from(query('a'));
    two.writeUInt16BE(2, 4);
    expect(parsed(two)).toMatchObject({ qdcount: 2 });
  });
});

describe('writeResponse', () => {
  it('writes a response dns-packet decodes: question echoed, answers owned by the question, OPT, AA', () => {
    const msg = query('SVC.ns.svc.cluster.local', 'A', { additionals: [OPT] as never });
    const answer = {
      ...emptyAnswer(RCODE.NOERROR, true),
      answers: [encodeRecord(a(1), true), encodeRecord(a(2), true)],
    };
    const out = writeResponse(parsed(msg), msg, answer, 512, false);
    const d = dnsPacket.decode(out.message) as Decoded;
    expect(d.id).toBe(0x1234);
    expect(d.type).toBe('response');
    expect(d.flag_aa).toBe(true);
    expect(d.flag_tc).toBe(false);
    expect((d.flags ?? 0) & dnsPacket.RECURSION_DESIRED).toBeTruthy();
    expect(d.rcode).toBe('NOERROR');
    expect(d.questions).toEqual([{ name: 'SVC.ns.svc.cluster.local', type: 'A', class: 'IN' }]);
    expect(
      d.answers?.map((r) => [r.name, r.type, (r as { ttl: number }).ttl, (r as { data: string }).data]),
    ).toEqual([
      ['SVC.ns.svc.cluster.local', 'A', 5, '10.0.0.1'],
      ['SVC.ns.svc.cluster.local', 'A', 5, '10.0.0.2'],
    ]);
    expect(d.additionals).toHaveLength(1);
    expect(d.additionals?.[0]).toMatchObject({ type: 'OPT', udpPayloadSize: 1232 });
  });

  it('encodes SRV, AAAA, SOA and NS records that dns-packet reads back', () => {
    const msg = query('x.cluster.local', 'ANY' as dnsPacket.RecordType);
    const records: ZoneRecord[] = [
      {
        type: 'SRV',
        name: 'x',
        ttl: 7,
        priority: 0,
        weight: 33,
        port: 29400,
        target: 'job-0.svc.ns.svc.cluster.local',
      },
      { type: 'AAAA', name: 'x', ttl: 7, address: '2001:db8::1' },
      { type: 'NS', name: 'x', ttl: 7, target: 'ns.dns.cluster.local' },
    ];
    const soa: ZoneRecord = {
      type: 'SOA',
      name: 'cluster.local',
      ttl: 5,
      mname: 'ns.dns.cluster.local',
      rname: 'hostmaster.cluster.local',
      serial: 4_000_000_000,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: 5,
    };
    const answer = {
      ...emptyAnswer(RCODE.NOERROR, true),
      answers: records.map((r) => encodeRecord(r, true)),
      authority: [encodeRecord(soa, false)],
    };
    const d = dnsPacket.decode(writeResponse(parsed(msg), msg, answer, 65_535, false).message) as Decoded;
    expect(d.answers?.[0]).toMatchObject({
      name: 'x.cluster.local',
      type: 'SRV',
      data: { priority: 0, weight: 33, port: 29400, target: 'job-0.svc.ns.svc.cluster.local' },
    });
    expect(d.answers?.[1]).toMatchObject({ type: 'AAAA', data: '2001:db8::1' });
    expect(d.answers?.[2]).toMatchObject({ type: 'NS', data: 'ns.dns.cluster.local' });
    expect(d.authorities?.[0]).toMatchObject({
      name: 'cluster.local',
      type: 'SOA',
      ttl: 5,
      data: {
        mname: 'ns.dns.cluster.local',
        rname: 'hostmaster.cluster.local',
        serial: 4_000_000_000,
        minimum: 5,
      },
    });
  });

  it('truncates to whole answers within the limit, sets TC and leaves out authority and additional', () => {
    const msg = query('svc.ns.svc.cluster.local');
    const answers = Array.from({ length: 100 }, (_, i) => encodeRecord(a(i), true));
    const answer = {
      ...emptyAnswer(RCODE.NOERROR, true),
      answers,
      additional: [encodeRecord(a(999), false)],
    };
    const out = writeResponse(parsed(msg), msg, answer, 512, false);
    expect(out.message.length).toBeLessThanOrEqual(512);
    expect(out.truncated).toBe(true);
    const d = dnsPacket.decode(out.message) as Decoded;
    expect(d.flag_tc).toBe(true);
    // 12 header + 30 question = 42; 16 bytes per A record → 29 records fit in 512.
    expect(d.answers).toHaveLength(29);
    expect(out.answerCount).toBe(29);
    expect(d.additionals).toHaveLength(0);
  });

  it('counts the OPT record in the budget and keeps it in truncated answers', () => {
    const msg = query('svc.ns.svc.cluster.local', 'A', {
      additionals: [{ ...OPT, udpPayloadSize: 600 }] as never,
    });
    const answers = Array.from({ length: 100 }, (_, i) => encodeRecord(a(i), true));
    const out = writeResponse(parsed(msg), msg, { ...emptyAnswer(RCODE.NOERROR, true), answers }, 600, false);
    expect(out.message.length).toBeLessThanOrEqual(600);
    const d = dnsPacket.decode(out.message) as Decoded;
    expect(d.answers).toHaveLength(Math.floor((600 - 42 - 11) / 16));
    expect(d.additionals?.map((r) => r.type)).toEqual(['OPT']);
  });

  it('drops optional additional records that do not fit without setting TC', () => {
    const msg = query('svc.ns.svc.cluster.local');
    const additional = Array.from({ length: 100 }, (_, i) => encodeRecord({ ...a(i), name: 'job.x' }, false));
    const answer = { ...emptyAnswer(RCODE.NOERROR, true), answers: [encodeRecord(a(1), true)], additional };
    const out = writeResponse(parsed(msg), msg, answer, 512, false);
    expect(out.truncated).toBe(false);
    const d = dnsPacket.decode(out.message) as Decoded;
    expect(d.flag_tc).toBe(false);
    expect(d.additionals!.length).toBeGreaterThan(0);
    expect(d.additionals!.length).toBeLessThan(100);
  });

  it('prefixes the TCP length and puts BADVERS in the OPT extended rcode', () => {
    const msg = query('a.cluster.local', 'A', { additionals: [{ ...OPT, ednsVersion: 1 }] as never });
    const out = writeResponse(parsed(msg), msg, emptyAnswer(RCODE.BADVERS), 65_535, true);
    expect(out.message.readUInt16BE(0)).toBe(out.message.length - 2);
    const body = out.message.subarray(2);
    expect(body.readUInt16BE(2) & 0xf).toBe(0);
    const d = dnsPacket.decode(body) as Decoded;
    expect(d.additionals?.[0]).toMatchObject({ type: 'OPT', extendedRcode: 1 });
  });

  it('answers FORMERR for qdcount 0 without a question section', () => {
    const msg = Buffer.from(query('a'));
    msg.writeUInt16BE(0, 4);
    const out = writeResponse(parsed(msg), msg, emptyAnswer(RCODE.FORMERR), 512, false);
    expect(out.message.length).toBe(12);
    expect(out.message.readUInt16BE(4)).toBe(0);
    expect(out.message.readUInt16BE(2) & 0xf).toBe(RCODE.FORMERR);
  });
});
