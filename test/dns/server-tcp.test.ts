// The server's TCP side (framing, pipelining, idle timeout, connection cap) and its clean shutdown.
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterDnsServer } from '../../src/dns/server.js';
import {
  dig,
  encodeQuery,
  grownHandles,
  settledHandleCounts,
  startWithPods,
  TcpClient,
  udpExchange,
  udpQuery,
} from './server-helpers.js';

const NS = 'ns';
const SVC = 'svc';
const pod = (i: number) => `job-${i}.${SVC}.${NS}.svc.cluster.local`;

let dns: ClusterDnsServer | undefined;
const clients: TcpClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await dns?.close();
  dns = undefined;
});

async function started(
  options: Parameters<typeof ClusterDnsServer.start>[0] = {},
): Promise<ClusterDnsServer> {
  dns = await startWithPods(options, SVC, NS, 4, '10.3.0');
  return dns;
}

async function connect(server: ClusterDnsServer): Promise<TcpClient> {
  const c = await TcpClient.connect(server.address);
  clients.push(c);
  return c;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('TCP framing', () => {
  it('answers several pipelined queries on one connection, matching ids', async () => {
    const server = await started();
    const c = await connect(server);
    c.socket.write(
      Buffer.concat([0, 1, 2, 3].map((i) => TcpClient.frame(encodeQuery(pod(i), 'A', 100 + i)))),
    );
    await c.waitFor(4);
    const answers = c.decoded();
    expect(answers.map((a) => a.id).sort()).toEqual([100, 101, 102, 103]);
    for (const a of answers) {
      const i = (a.id ?? 0) - 100;
      expect(a.answers.map((r) => (r as { data: string }).data)).toEqual([`10.3.0.${i}`]);
    }
    expect(c.closed).toBe(false);
  });

  it('reassembles messages split across reads, down to one byte at a time', async () => {
    const server = await started();
    const c = await connect(server);
    const stream = Buffer.concat([
      TcpClient.frame(encodeQuery(pod(0), 'A', 1)),
      TcpClient.frame(encodeQuery(pod(1), 'A', 2)),
    ]);
    for (let i = 0; i < stream.length; i++) {
      c.socket.write(stream.subarray(i, i + 1));
      if (i % 7 === 0) await tick();
    }
    await c.waitFor(2);
    expect(c.decoded().map((a) => a.id)).toEqual([1, 2]);
  });

  it('closes the connection on a message it cannot parse, after answering the ones before', async () => {
    const server = await started();
    const c = await connect(server);
    c.socket.write(
      Buffer.concat([TcpClient.frame(encodeQuery(pod(0), 'A', 7)), TcpClient.frame(Buffer.from([1, 2, 3]))]),
    );
    await c.waitClosed();
    expect(c.closed).toBe(true);
    expect(c.decoded().map((a) => a.id)).toEqual([7]);
    expect(server.stats().malformed).toBe(1);
    const zero = await connect(server);
    zero.socket.write(Buffer.from([0, 0]));
    await zero.waitClosed();
    expect(zero.closed).toBe(true);
    expect((await udpQuery(server.address, pod(0)))?.rcode).toBe('NOERROR');
  });

  it('closes idle connections after tcpIdleTimeoutMs', async () => {
    const server = await started({ tcpIdleTimeoutMs: 100 });
    const c = await connect(server);
    c.socket.write(TcpClient.frame(encodeQuery(pod(0), 'A', 1)));
    await c.waitFor(1);
    await c.waitClosed(5000);
    expect(c.closed).toBe(true);
  });

  it('refuses connections beyond maxTcpConnections and keeps serving the open ones', async () => {
    const server = await started({ maxTcpConnections: 2 });
    const a = await connect(server);
    const b = await connect(server);
    // Make sure the server has accepted both before the third arrives.
    for (const c of [a, b]) {
      c.socket.write(TcpClient.frame(encodeQuery(pod(0), 'A', 1)));
      await c.waitFor(1);
    }
    const third = await connect(server);
    await third.waitClosed();
    expect(third.closed).toBe(true);
    expect(third.messages).toEqual([]);
    a.socket.write(TcpClient.frame(encodeQuery(pod(1), 'A', 2)));
    await a.waitFor(2);
    expect(a.decoded().map((m) => m.id)).toEqual([1, 2]);
    expect(server.stats()).toMatchObject({ tcpConnections: 2, tcpRejected: 1 });
    a.close();
    await a.waitClosed();
    // Once one closed, a new connection is accepted again.
    for (let i = 0; i < 50 && server.stats().tcpConnections < 3; i++) {
      const d = await connect(server);
      d.socket.write(TcpClient.frame(encodeQuery(pod(2), 'A', 3)));
      await d.waitFor(1);
      if (d.messages.length === 1) break;
      await tick();
    }
    expect(server.stats().tcpConnections).toBe(3);
  });
});

describe('UDP corners', () => {
  it('ignores responses and garbage, and answers FORMERR to a query without a question', async () => {
    const server = await started();
    const response = Buffer.from(encodeQuery(pod(0), 'A'));
    response[2]! |= 0x80;
    expect(await udpExchange(server.address, response, 200)).toBeUndefined();
    expect(await udpExchange(server.address, Buffer.from('hello'), 200)).toBeUndefined();
    const noQuestion = Buffer.from(encodeQuery(pod(0), 'A', 9));
    noQuestion.writeUInt16BE(0, 4);
    const formerr = await udpExchange(server.address, noQuestion.subarray(0, 12));
    expect(formerr?.readUInt16BE(0)).toBe(9);
    expect((formerr?.readUInt16BE(2) ?? 0) & 0xf).toBe(1);
    expect(server.stats().malformed).toBe(2);
  });

  it('answers NXDOMAIN inside the zone and REFUSED outside it for labels that contain dots', async () => {
    const server = await started();
    const q = encodeQuery('x.cluster.local', 'A', 5);
    const header = q.subarray(0, 12);
    const tail = Buffer.from([0, 0, 1, 0, 1]);
    const inZone = Buffer.concat([
      header,
      Buffer.from([3]),
      Buffer.from('a.b'),
      Buffer.from([7]),
      Buffer.from('cluster'),
      Buffer.from([5]),
      Buffer.from('local'),
      tail,
    ]);
    const outside = Buffer.concat([header, Buffer.from([13]), Buffer.from('cluster.local'), tail]);
    expect(((await udpExchange(server.address, inZone))?.readUInt16BE(2) ?? 0) & 0xf).toBe(3);
    expect(((await udpExchange(server.address, outside))?.readUInt16BE(2) ?? 0) & 0xf).toBe(5);
  });
});

describe('close()', () => {
  it('releases every socket, connection and pending timer', async () => {
    const before = await settledHandleCounts();
    const server = await started({ faults: { delayMs: 60_000 } });
    const c = await connect(server);
    c.socket.write(TcpClient.frame(encodeQuery(pod(0), 'A', 1)));
    void udpExchange(server.address, encodeQuery(pod(0), 'A'), 50);
    for (let i = 0; i < 100 && server.stats().total < 2; i++) await tick();
    expect(server.stats().delayed).toBe(2);
    await server.close();
    await c.waitClosed();
    expect(c.messages).toEqual([]);
    await server.close();
    dns = undefined;
    c.close();
    expect(grownHandles(before, await settledHandleCounts())).toEqual({});
  });

  it('lets another server take the port after close', async () => {
    const first = await started();
    const { port } = first.address;
    await first.close();
    dns = await ClusterDnsServer.start({ port });
    expect(dns.address.port).toBe(port);
    expect((await udpQuery(dns.address, pod(0)))?.rcode).toBe('NXDOMAIN');
  });

  it('rejects a port already in use, without leaking the half that did bind', async () => {
    const first = await started();
    const port = first.address.port;
    const before = await settledHandleCounts();
    await expect(ClusterDnsServer.start({ port })).rejects.toThrow(/EADDRINUSE/);
    expect(grownHandles(before, await settledHandleCounts())).toEqual({});
  });

  it('listens on IPv6 loopback', async () => {
    dns = await ClusterDnsServer.start({ host: '::1' });
    dns.addService({ name: SVC, namespace: NS });
    dns.setPod({ hostname: 'job-0', subdomain: SVC, namespace: NS, addresses: ['fd00::5'], ready: true });
    const c = await TcpClient.connect(dns.address);
    clients.push(c);
    c.socket.write(TcpClient.frame(encodeQuery(pod(0), 'AAAA', 3)));
    await c.waitFor(1);
    expect(c.decoded()[0]?.answers.map((r) => (r as { data: string }).data)).toEqual(['fd00::5']);
    const udp = await dig(dns.address, pod(0), 'AAAA', ['+notcp']);
    expect(udp.answer.map((r) => r.data)).toEqual(['fd00::5']);
    expect((await dig(dns.address, 'ns.dns.cluster.local', 'AAAA')).answer.map((r) => r.data)).toEqual([
      '::1',
    ]);
  });
});
