// A tiny programmable DNS responder on 127.0.0.1 (UDP + TCP, port 0) for client tests: each query is handed
// to a script that may answer, spoof, stay silent or send junk. Not a DNS server: tests decide every byte.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { type DecodedDnsPacket, decodePacket, encodePacket } from '../../src/dns/packet.js';
import { RCODE } from '../../src/dns/types.js';

/** A query the responder received. */
export interface Received {
  readonly packet: DecodedDnsPacket;
  readonly raw: Buffer;
  readonly transport: 'udp' | 'tcp';
  /** Client's source port. */
  readonly port: number;
}

/** What a script can do with one query. */
export interface Reply {
  /** Send bytes back to the query's source (UDP) or on its connection (TCP, framed by the responder). */
  send(message: Uint8Array): void;
  /** UDP only: send from another socket (another source port), which a connected client must drop. */
  sendFromOtherPort(message: Uint8Array): Promise<void>;
  /** TCP only: write raw bytes (no framing), e.g. a response in pieces. */
  writeRaw(bytes: Uint8Array): void;
}

export type Script = (query: Received, reply: Reply) => void | Promise<void>;

export interface Responder {
  readonly host: string;
  readonly port: number;
  readonly server: { host: string; port: number };
  readonly received: Received[];
  script: Script;
  close(): Promise<void>;
}

/** Start a responder on `host` (127.0.0.1 or ::1) with the same port for UDP and TCP. */
export async function startResponder(script: Script, host = '127.0.0.1'): Promise<Responder> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => udp.bind(0, host, resolve));
    const port = udp.address().port;
    const tcp = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, host, () => resolve(true));
    });
    if (!ok) {
      await new Promise<void>((r) => udp.close(() => r()));
      continue;
    }
    return wire(udp, tcp, host, port, script);
  }
  throw new Error(`no free port for UDP and TCP on ${host}`);
}

function wire(udp: dgram.Socket, tcp: net.Server, host: string, port: number, initial: Script): Responder {
  const connections = new Set<net.Socket>();
  const responder: Responder = {
    host,
    port,
    server: { host, port },
    received: [],
    script: initial,
    close: async () => {
      for (const c of connections) c.destroy();
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]);
    },
  };
  udp.on('message', (raw, rinfo) => {
    const packet = decodePacket(raw);
    if (!packet) return;
    const query: Received = { packet, raw, transport: 'udp', port: rinfo.port };
    responder.received.push(query);
    void responder.script(query, {
      send: (m) => udp.send(m, rinfo.port, rinfo.address),
      sendFromOtherPort: async (m) => {
        const other = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
        await new Promise<void>((r) => other.bind(0, host, r));
        await new Promise<void>((r) => other.send(m, rinfo.port, rinfo.address, () => r()));
        await new Promise<void>((r) => other.close(() => r()));
      },
      writeRaw: () => {
        throw new Error('writeRaw is TCP only');
      },
    });
  });
  tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2) {
        const raw = buffered.subarray(2, buffered.readUInt16BE(0) + 2);
        buffered = buffered.subarray(raw.length + 2);
        const packet = decodePacket(raw);
        if (!packet) continue;
        const query: Received = { packet, raw, transport: 'tcp', port: socket.remotePort ?? 0 };
        responder.received.push(query);
        void responder.script(query, {
          send: (m) => {
            const len = Buffer.alloc(2);
            len.writeUInt16BE(m.byteLength);
            socket.write(Buffer.concat([len, m]));
          },
          sendFromOtherPort: async () => {
            throw new Error('sendFromOtherPort is UDP only');
          },
          writeRaw: (bytes) => socket.write(bytes),
        });
      }
    });
  });
  return responder;
}

/** Encode a response to `query` with the given answers, flags and rcode (AA set unless flags given). */
export function answer(
  query: DecodedDnsPacket,
  opts: {
    answers?: dnsPacket.Answer[];
    authorities?: dnsPacket.Answer[];
    additionals?: dnsPacket.Answer[];
    rcode?: number;
    flags?: number;
    id?: number;
    questions?: dnsPacket.Question[];
  } = {},
): Buffer {
  return encodePacket(
    {
      type: 'response',
      id: opts.id ?? query.id,
      flags: opts.flags ?? dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED,
      questions: opts.questions ?? query.questions,
      answers: opts.answers ?? [],
      authorities: opts.authorities ?? [],
      additionals: opts.additionals ?? [],
    },
    opts.rcode ?? RCODE.NOERROR,
  );
}

/** A records `10.0.<i/256>.<i%256>` for the query's name. */
export function aRecords(query: DecodedDnsPacket, count: number, ttl = 30): dnsPacket.Answer[] {
  const name = query.questions[0]!.name;
  return Array.from({ length: count }, (_, i) => ({
    type: 'A' as const,
    name,
    ttl,
    class: 'IN' as const,
    data: `10.0.${Math.floor(i / 256)}.${i % 256}`,
  }));
}

/** The zone SOA for negative answers. */
export function soa(zone: string, ttl: number, minimum: number): dnsPacket.Answer {
  return {
    type: 'SOA',
    name: zone,
    ttl,
    class: 'IN',
    data: {
      mname: `ns.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum,
    },
  };
}

/** Count of live sockets and timers (UDP, TCP, Timeout), to check nothing leaks. */
export function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) {
    if (/UDP|TCP|Timeout/.test(r)) counts[r] = (counts[r] ?? 0) + 1;
  }
  return counts;
}
