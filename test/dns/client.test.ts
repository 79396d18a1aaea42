import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsClient } from '../../src/dns/client.js';
import { RCODE } from '../../src/dns/types.js';
import { AbortedError, RendezvousError, UsageError } from '../../src/errors.js';
import { answer, aRecords, liveHandles, type Responder, soa, startResponder } from './client-responder.js';

const responders: Responder[] = [];
const clients: DnsClient[] = [];

async function responder(script: Parameters<typeof startResponder>[0], host?: string): Promise<Responder> {
  const r = await startResponder(script, host);
  responders.push(r);
  return r;
}

function client(
  r: Responder | Responder[],
  options: Partial<ConstructorParameters<typeof DnsClient>[0]> = {},
) {
  const servers = (Array.isArray(r) ? r : [r]).map((x) => x.server);
  const c = new DnsClient({ servers, timeoutMs: 300, attempts: 1, ...options });
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(responders.splice(0).map((r) => r.close()));
});

describe('DnsClient over UDP', () => {
  it('sends one absolute question with EDNS0 1232 and returns records with TTLs', async () => {
    const r = await responder((q, reply) =>
      reply.send(answer(q.packet, { answers: aRecords(q.packet, 2, 7) })),
    );
    const result = await client(r).query('job-0.svc.ns.svc.cluster.local.', 'A');
    expect(result).toMatchObject({
      kind: 'records',
      name: 'job-0.svc.ns.svc.cluster.local.',
      type: 'A',
      ttl: 7,
      authoritative: true,
      server: `127.0.0.1:${r.port}`,
      transport: 'udp',
      records: [
        { type: 'A', name: 'job-0.svc.ns.svc.cluster.local.', ttl: 7, address: '10.0.0.0' },
        { type: 'A', name: 'job-0.svc.ns.svc.cluster.local.', ttl: 7, address: '10.0.0.1' },
      ],
    });
    const q = r.received[0]!.packet;
    expect(q.questions).toEqual([{ name: 'job-0.svc.ns.svc.cluster.local', type: 'A', class: 'IN' }]);
    expect(q.flag_rd).toBe(true);
    expect(q.additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: 1232 })]);
  });

  it('classifies NXDOMAIN and NODATA with the negative TTL min(SOA TTL, MINIMUM)', async () => {
    const r = await responder((q, reply) => {
      const name = q.packet.questions[0]!.name;
      if (name.startsWith('gone')) {
        reply.send(answer(q.packet, { rcode: RCODE.NXDOMAIN, authorities: [soa('cluster.local', 30, 5)] }));
      } else reply.send(answer(q.packet, { authorities: [soa('cluster.local', 3, 5)] }));
    });
    const c = client(r);
    expect(await c.query('gone.cluster.local.', 'A')).toMatchObject({
      kind: 'nxdomain',
      negativeTtl: 5,
      authoritative: true,
    });
    expect(await c.query('there.cluster.local.', 'AAAA')).toMatchObject({ kind: 'nodata', negativeTtl: 3 });
  });

  it('reports no negative TTL when the answer carries no SOA', async () => {
    const r = await responder((q, reply) =>
      reply.send(answer(q.packet, { rcode: RCODE.NXDOMAIN, flags: 0 })),
    );
    expect(await client(r).query('gone.example.', 'A')).toMatchObject({
      kind: 'nxdomain',
      negativeTtl: undefined,
      authoritative: false,
    });
  });

  it('follows a CNAME chain inside the answer', async () => {
    const r = await responder((q, reply) =>
      reply.send(
        answer(q.packet, {
          answers: [
            { type: 'CNAME', name: 'Alias.example', ttl: 9, data: 'mid.example' },
            { type: 'CNAME', name: 'mid.example', ttl: 9, data: 'real.example' },
            { type: 'A', name: 'other.example', ttl: 9, data: '10.9.9.9' },
            { type: 'A', name: 'REAL.example', ttl: 4, data: '10.1.1.1' },
          ],
        }),
      ),
    );
    const result = await client(r).query('alias.example.', 'A');
    expect(result).toMatchObject({
      kind: 'records',
      ttl: 4,
      records: [{ name: 'REAL.example.', address: '10.1.1.1' }],
    });
  });

  it('returns SRV records with their targets absolute and the Additional addresses', async () => {
    const r = await responder((q, reply) =>
      reply.send(
        answer(q.packet, {
          answers: [
            {
              type: 'SRV',
              name: q.packet.questions[0]!.name,
              ttl: 5,
              data: { priority: 0, weight: 50, port: 29500, target: 'job-0.svc.ns.svc.cluster.local' },
            },
          ],
          additionals: [{ type: 'A', name: 'job-0.svc.ns.svc.cluster.local', ttl: 5, data: '10.2.0.1' }],
        }),
      ),
    );
    const result = await client(r).query('_rdzv._tcp.svc.ns.svc.cluster.local.', 'SRV');
    expect(result).toMatchObject({
      kind: 'records',
      records: [{ type: 'SRV', port: 29500, weight: 50, target: 'job-0.svc.ns.svc.cluster.local.' }],
      additional: [{ type: 'A', address: '10.2.0.1' }],
    });
  });

  it('ignores answers with a wrong ID, a wrong question, QR=0, another opcode or another source port', async () => {
    const r = await responder(async (q, reply) => {
      const p = q.packet;
      const real = answer(p, { answers: aRecords(p, 1) });
      reply.send(answer(p, { id: (p.id + 1) % 65_536, answers: aRecords(p, 1, 1) }));
      reply.send(answer(p, { questions: [{ name: 'evil.example', type: 'A', class: 'IN' }] }));
      reply.send(answer(p, { questions: [{ name: p.questions[0]!.name, type: 'AAAA', class: 'IN' }] }));
      reply.send(answer(p, { questions: [...p.questions, ...p.questions] }));
      const query = Buffer.from(real);
      query[2] = query[2]! & 0x7f; // QR=0
      reply.send(query);
      const notify = Buffer.from(real);
      notify[2] = (notify[2]! & 0x87) | (4 << 3); // opcode NOTIFY
      reply.send(notify);
      reply.send(Buffer.from('not dns at all'));
      await reply.sendFromOtherPort(answer(p, { answers: aRecords(p, 1, 1) }));
      setTimeout(() => reply.send(real), 20);
    });
    const result = await client(r, { timeoutMs: 2000 }).query('Peer.Example.', 'A');
    expect(result).toMatchObject({ kind: 'records', ttl: 30, records: [{ address: '10.0.0.0' }] });
  });

  it('accepts the question name in any case', async () => {
    const r = await responder((q, reply) =>
      reply.send(
        answer(q.packet, {
          questions: [{ name: 'JOB-0.EXAMPLE', type: 'A', class: 'IN' }],
          answers: [{ type: 'A', name: 'JOB-0.EXAMPLE', ttl: 5, data: '10.0.0.5' }],
        }),
      ),
    );
    expect(await client(r).query('job-0.example.', 'A')).toMatchObject({ kind: 'records' });
  });

  it('uses a fresh source port for every question with queriesPerSocket 1, and distinct IDs', async () => {
    const r = await responder((q, reply) => {
      setTimeout(() => reply.send(answer(q.packet, { answers: aRecords(q.packet, 1) })), 5);
    });
    const c = client(r, { concurrency: 16, queriesPerSocket: 1 });
    const names = Array.from({ length: 40 }, (_, i) => `n${i}.example.`);
    const results = await Promise.all(names.map((n) => c.query(n, 'A')));
    expect(results.every((x) => x.kind === 'records')).toBe(true);
    const ports = new Set(r.received.map((q) => q.port));
    expect(ports.size).toBeGreaterThan(30); // the kernel may reuse a port after a socket closed
    const inFlightIds = new Set(r.received.map((q) => q.packet.id));
    expect(inFlightIds.size).toBeGreaterThan(30);
  });

  it('shares a socket among queriesPerSocket questions, then rotates', async () => {
    const r = await responder((q, reply) => reply.send(answer(q.packet, { answers: aRecords(q.packet, 1) })));
    const c = client(r, { queriesPerSocket: 5, concurrency: 1 });
    const sockets = 8;
    for (let i = 0; i < sockets * 5; i++) await c.query(`r${i}.example.`, 'A');
    const ports = r.received.map((q) => q.port);
    const groups = Array.from({ length: sockets }, (_, g) => ports.slice(g * 5, g * 5 + 5));
    for (const group of groups) expect(new Set(group).size).toBe(1);
    // A new socket may get the port the retired one just freed (the kernel's choice, ~1 in 28k): count the
    // changes instead of requiring each one.
    const changes = groups.filter((group, g) => g > 0 && group[0] !== groups[g - 1]?.[0]).length;
    expect(changes).toBeGreaterThanOrEqual(sockets - 2);
  });

  it('keeps at most `concurrency` questions in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const r = await responder((q, reply) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        reply.send(answer(q.packet, { answers: aRecords(q.packet, 1) }));
      }, 10);
    });
    const c = client(r, { concurrency: 3 });
    await Promise.all(Array.from({ length: 12 }, (_, i) => c.query(`c${i}.example.`, 'A')));
    expect(r.received).toHaveLength(12);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThanOrEqual(2);
  });
});

describe('DnsClient TCP fallback', () => {
  it('asks again over TCP when the UDP answer is truncated, reading a response split into pieces', async () => {
    const r = await responder(async (q, reply) => {
      if (q.transport === 'udp') {
        reply.send(answer(q.packet, { flags: 0x0200 | 0x0400 })); // TC + AA, no records
        return;
      }
      const full = answer(q.packet, { answers: aRecords(q.packet, 80) });
      const framed = Buffer.alloc(full.length + 2);
      framed.writeUInt16BE(full.length);
      full.copy(framed, 2);
      // A junk message first (wrong ID), then the real one in three writes.
      const junk = answer(q.packet, { id: (q.packet.id + 7) % 65_536 });
      const junkFramed = Buffer.concat([Buffer.from([junk.length >> 8, junk.length & 0xff]), junk]);
      reply.writeRaw(junkFramed);
      reply.writeRaw(framed.subarray(0, 1));
      await new Promise((res) => setTimeout(res, 10));
      reply.writeRaw(framed.subarray(1, 200));
      await new Promise((res) => setTimeout(res, 10));
      reply.writeRaw(framed.subarray(200));
    });
    const result = await client(r, { timeoutMs: 2000 }).query('big.example.', 'A');
    expect(result).toMatchObject({ kind: 'records', transport: 'tcp' });
    expect(result.kind === 'records' && result.records).toHaveLength(80);
    expect(r.received.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('reports a timeout when TCP does not answer either', async () => {
    const r = await responder((q, reply) => {
      if (q.transport === 'udp') reply.send(answer(q.packet, { flags: 0x0200 }));
    });
    expect(await client(r, { timeoutMs: 150 }).query('big.example.', 'A')).toMatchObject({ kind: 'timeout' });
  });
});

describe('DnsClient over IPv6 loopback', () => {
  it('asks [::1]:port over UDP and TCP and names the server in brackets', async () => {
    const r = await responder((q, reply) => {
      if (q.packet.questions[0]!.name.startsWith('big') && q.transport === 'udp') {
        reply.send(answer(q.packet, { flags: 0x0200 }));
      } else reply.send(answer(q.packet, { answers: aRecords(q.packet, 1) }));
    }, '::1');
    const c = client(r);
    expect(await c.query('small.example.', 'A')).toMatchObject({
      kind: 'records',
      server: `[::1]:${r.port}`,
      transport: 'udp',
    });
    expect(await c.query('big.example.', 'A')).toMatchObject({ kind: 'records', transport: 'tcp' });
  });
});

describe('DnsClient servers, attempts and failures', () => {
  it('times out after attempts × servers tries, in glibc order, naming every server tried', async () => {
    const a = await responder(() => {});
    const b = await responder(() => {});
    const result = await client([a, b], { timeoutMs: 60, attempts: 2 }).query('slow.example.', 'A');
    expect(result).toMatchObject({
      kind: 'timeout',
      servers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`, `127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`],
    });
    expect(a.received).toHaveLength(2);
    expect(b.received).toHaveLength(2);
  });

  it('moves on to the next server on timeout and says which one answered', async () => {
    const silent = await responder(() => {});
    const good = await responder((q, reply) =>
      reply.send(answer(q.packet, { answers: aRecords(q.packet, 1) })),
    );
    const result = await client([silent, good], { timeoutMs: 80 }).query('x.example.', 'A');
    expect(result).toMatchObject({ kind: 'records', server: `127.0.0.1:${good.port}` });
  });

  it('tries the next server after SERVFAIL and returns the SERVFAIL when nobody does better', async () => {
    const failing = await responder((q, reply) => reply.send(answer(q.packet, { rcode: RCODE.SERVFAIL })));
    const refusing = await responder((q, reply) => reply.send(answer(q.packet, { rcode: RCODE.REFUSED })));
    const good = await responder((q, reply) =>
      reply.send(answer(q.packet, { answers: aRecords(q.packet, 1) })),
    );
    expect(await client([failing, good]).query('x.example.', 'A')).toMatchObject({
      kind: 'records',
      server: `127.0.0.1:${good.port}`,
    });
    expect(await client([failing]).query('x.example.', 'A')).toMatchObject({
      kind: 'servfail',
      rcode: 'SERVFAIL',
      server: `127.0.0.1:${failing.port}`,
    });
    expect(await client([failing, refusing]).query('x.example.', 'A')).toMatchObject({
      kind: 'refused',
      rcode: 'REFUSED',
    });
    const notimp = await responder((q, reply) => reply.send(answer(q.packet, { rcode: RCODE.NOTIMP })));
    expect(await client([notimp]).query('x.example.', 'A')).toMatchObject({ kind: 'error', rcode: 'NOTIMP' });
  });

  it('ends quickly with the ICMP error when nothing listens on the port', async () => {
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = new DnsClient({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 5000, attempts: 2 });
    clients.push(c);
    const result = await c.query('x.example.', 'A');
    // Both tries end on the ICMP error (reason), not by waiting out the 5 s timeout.
    expect(result).toMatchObject({ kind: 'timeout', reason: 'ECONNREFUSED' });
  });

  it('ends quickly for every question sent at once on the socket, not only the first', async () => {
    // The second send finds the first question's ICMP error on the socket and returns it at once; Node drops
    // such an error when send() has no callback, and both questions then waited out their timeouts.
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = new DnsClient({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 3000, attempts: 1 });
    clients.push(c);
    const results = await Promise.all([
      c.query('x.example.', 'A'),
      c.query('y.example.', 'AAAA'),
      c.query('z.example.', 'TYPE65280'),
    ]);
    // Each ended on the error (its reason), none by waiting out the timeout (no reason).
    for (const r of results) expect(r).toMatchObject({ kind: 'timeout', reason: 'ECONNREFUSED' });
  });
});

describe('DnsClient input, abort, close and resources', () => {
  it('rejects relative names, bad labels and unknown types with a UsageError', async () => {
    const r = await responder(() => {});
    const c = client(r);
    await expect(c.query('job-0.svc', 'A')).rejects.toThrow(UsageError);
    await expect(c.query('job-0.svc', 'A')).rejects.toThrow(/absolute domain name ending with "\."/);
    await expect(c.query('a..b.', 'A')).rejects.toThrow(/bad label/);
    await expect(c.query(`${'x'.repeat(64)}.example.`, 'A')).rejects.toThrow(/bad label/);
    await expect(c.query('has space.example.', 'A')).rejects.toThrow(/bad label/);
    await expect(c.query('ok.example.', 'MX' as never)).rejects.toThrow(/one of A, AAAA, SRV/);
    expect(r.received).toHaveLength(0);
  });

  it('rejects bad options naming the option', () => {
    expect(() => new DnsClient({ servers: [] })).toThrow(/at least one DNS server/);
    expect(() => new DnsClient({ servers: [{ host: '127.0.0.1', port: 0 }] })).toThrow(/\{ host, port \}/);
    expect(() => new DnsClient({ servers: [{ host: 'kube-dns', port: 53 }] })).toThrow(
      /IP address \(no lookups\)/,
    );
    expect(() => new DnsClient({ servers: [{ host: '127.0.0.1', port: 53 }], timeoutMs: -1 })).toThrow(
      /`timeoutMs`/,
    );
    expect(() => new DnsClient({ servers: [{ host: '127.0.0.1', port: 53 }], concurrency: 1e6 })).toThrow(
      /`concurrency`/,
    );
    expect(() => new DnsClient({ servers: [{ host: '127.0.0.1', port: 53 }], udpPayloadSize: 100 })).toThrow(
      /`udpPayloadSize`/,
    );
  });

  it('does not mutate the options object', async () => {
    const servers = [{ host: '127.0.0.1', port: 53 }];
    const options = Object.freeze({ servers: Object.freeze(servers), timeoutMs: 100 });
    const c = new DnsClient(options);
    expect(options).toEqual({ servers: [{ host: '127.0.0.1', port: 53 }], timeoutMs: 100 });
    await c.close();
  });

  it('rejects with AbortedError when the signal fires, in flight or queued, and removes its listeners', async () => {
    const r = await responder(() => {});
    const c = client(r, { timeoutMs: 10_000, concurrency: 1 });
    const controller = new AbortController();
    const first = c.query('a.example.', 'A', { signal: controller.signal });
    const queued = c.query('b.example.', 'A', { signal: controller.signal });
    await new Promise((res) => setTimeout(res, 30));
    controller.abort(new Error('stop'));
    await expect(first).rejects.toBeInstanceOf(AbortedError);
    await expect(queued).rejects.toBeInstanceOf(AbortedError);
    await expect(c.query('c.example.', 'A', { signal: controller.signal })).rejects.toBeInstanceOf(
      AbortedError,
    );
  });

  it('rejects queries in flight and after close() with RDV_ERR_DNS', async () => {
    const r = await responder(() => {});
    const c = client(r, { timeoutMs: 10_000 });
    const pending = c.query('a.example.', 'A');
    // Attach the expectation first: the rejection happens during close(), before it returns.
    const rejected = expect(pending).rejects.toMatchObject({ code: 'RDV_ERR_DNS' });
    await new Promise((res) => setTimeout(res, 20));
    await c.close();
    await rejected;
    await expect(c.query('a.example.', 'A')).rejects.toBeInstanceOf(RendezvousError);
  });

  it('leaves no socket or timer behind after answers, timeouts, TCP and close', async () => {
    const r = await responder((q, reply) => {
      const name = q.packet.questions[0]!.name;
      if (name.startsWith('silent')) return;
      if (name.startsWith('big') && q.transport === 'udp') reply.send(answer(q.packet, { flags: 0x0200 }));
      else reply.send(answer(q.packet, { answers: aRecords(q.packet, 3) }));
    });
    await new Promise((res) => setTimeout(res, 20)); // earlier tests' servers finish closing
    await new Promise((res) => setImmediate(res));
    const before = liveHandles();
    const c = new DnsClient({ servers: [r.server], timeoutMs: 50, attempts: 1, queriesPerSocket: 3 });
    await Promise.all([
      c.query('a.example.', 'A'),
      c.query('silent.example.', 'A'),
      c.query('big.example.', 'A'),
      ...Array.from({ length: 10 }, (_, i) => c.query(`m${i}.example.`, 'A')),
    ]);
    const controller = new AbortController();
    const aborted = c.query('silent2.example.', 'A', { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    await c.close();
    const after = liveHandles();
    // Timers of earlier tests may still expire; ours must not add any.
    expect(after.Timeout ?? 0).toBeLessThanOrEqual(before.Timeout ?? 0);
    expect({ ...after, Timeout: 0 }).toEqual({ ...before, Timeout: 0 });
  });
});
