// Random and mutated packets (fast-check) never crash the server, and it keeps answering valid queries.
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterDnsServer } from '../../src/dns/server.js';
import { emptyAnswer, encodeRecord, parseQuery, writeResponse } from '../../src/dns/server-wire.js';
import { RCODE } from '../../src/dns/types.js';
import { type DecodedResponse, encodeQuery, TcpClient, udpQuery } from './server-helpers.js';

const NS = 'ns';
const SVC = 'svc';
const POD = `job-0.${SVC}.${NS}.svc.cluster.local`;

const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,20}$/);
const name = fc
  .array(label, { minLength: 1, maxLength: 6 })
  .map((labels) => `${labels.join('.')}.cluster.local`);
const qtype = fc.constantFrom<dnsPacket.RecordType>('A', 'AAAA', 'SRV', 'TXT', 'SOA', 'NS', 'MX', 'PTR');

/** A valid query (sometimes with EDNS), then up to 4 byte edits, a cut or some appended junk. */
const mutatedQuery = fc
  .record({
    name,
    qtype,
    id: fc.integer({ min: 0, max: 0xffff }),
    edns: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    tail: fc.uint8Array({ maxLength: 16 }),
  })
  .map(({ name, qtype, id, edns, edits, cut, tail }) => {
    const bytes = Buffer.concat([encodeQuery(name, qtype, id, edns), Buffer.from(tail)]);
    for (const [at, value] of edits) bytes[at % bytes.length] = value;
    return cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
  });

const anyPacket = fc.oneof(
  mutatedQuery,
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  // A valid-looking header followed by junk: reaches the name and section parsers.
  fc
    .uint8Array({ minLength: 0, maxLength: 80 })
    .map((b) => Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]), Buffer.from(b)])),
);

describe('wire code on random input', () => {
  it('parseQuery never throws, and every response it leads to decodes with the query id', () => {
    const answer = {
      ...emptyAnswer(RCODE.NOERROR, true),
      answers: [encodeRecord({ type: 'A', name: POD, ttl: 5, address: '10.0.0.1' }, true)],
    };
    fc.assert(
      fc.property(anyPacket, fc.boolean(), (msg, tcp) => {
        const query = parseQuery(msg);
        if (query === undefined) return;
        const reply = query.qdcount === 1 ? answer : emptyAnswer(RCODE.FORMERR);
        const out = writeResponse(query, msg, reply, tcp ? 65_535 : 512, tcp);
        const body = tcp ? out.message.subarray(2) : out.message;
        expect(body.readUInt16BE(0)).toBe(msg.readUInt16BE(0));
        expect(body.length).toBeLessThanOrEqual(tcp ? 65_535 : 512);
        const decoded = dnsPacket.decode(body) as DecodedResponse;
        expect(decoded.type).toBe('response');
      }),
      { numRuns: 3000 },
    );
  });
});

describe('server on random input', () => {
  let dns: ClusterDnsServer;
  beforeAll(async () => {
    dns = await ClusterDnsServer.start();
    dns.addService({ name: SVC, namespace: NS, ports: [{ name: 'p', port: 1 }] });
    dns.setPod({
      hostname: 'job-0',
      subdomain: SVC,
      namespace: NS,
      addresses: ['10.0.0.1', 'fd00::1'],
      ready: true,
    });
  });
  afterAll(async () => {
    await dns.close();
  });

  const stillAnswers = async () => {
    const r = await udpQuery(dns.address, POD);
    expect(r?.rcode).toBe('NOERROR');
    expect(r?.answers.map((a) => (a as { data: string }).data)).toEqual(['10.0.0.1']);
  };

  it('survives random and mutated datagrams; what it sends back decodes and carries the query id', async () => {
    const packets = fc.sample(anyPacket, { numRuns: 400, seed: 20_261_127 });
    const { createSocket } = await import('node:dgram');
    const socket = createSocket('udp4');
    const replies: Buffer[] = [];
    socket.on('message', (m) => replies.push(m));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const ids = new Set<number>();
    for (const p of packets) {
      if (p.length >= 2) ids.add(p.readUInt16BE(0));
      socket.send(p, dns.address.port, dns.address.host);
    }
    await stillAnswers();
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.close();
    expect(replies.length).toBeGreaterThan(0);
    for (const reply of replies) {
      expect(ids.has(reply.readUInt16BE(0))).toBe(true);
      expect(() => dnsPacket.decode(reply)).not.toThrow();
    }
    expect(dns.stats().malformed).toBeGreaterThan(0);
  });

  it('survives random byte streams over TCP (split anywhere) and serves new connections afterwards', async () => {
    const streams = fc.sample(
      fc.record({
        frames: fc.array(
          fc.oneof(
            anyPacket.map((p) => TcpClient.frame(p)),
            fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
          ),
          { minLength: 1, maxLength: 5 },
        ),
        split: fc.integer({ min: 1, max: 50 }),
      }),
      { numRuns: 40, seed: 42 },
    );
    for (const { frames, split } of streams) {
      const c = await TcpClient.connect(dns.address);
      const stream = Buffer.concat(frames);
      for (let i = 0; i < stream.length; i += split) c.socket.write(stream.subarray(i, i + split));
      c.socket.end();
      await c.waitClosed(3000);
      c.close();
      for (const m of c.messages) expect(() => dnsPacket.decode(m)).not.toThrow();
    }
    const c = await TcpClient.connect(dns.address);
    c.socket.write(TcpClient.frame(encodeQuery(POD, 'AAAA', 77)));
    await c.waitFor(1);
    c.close();
    expect(c.decoded()[0]?.answers.map((a) => (a as { data: string }).data)).toEqual(['fd00::1']);
    await stillAnswers();
  });
});
