// The mesh probe over UDP (mesh-udp.ts) with real sockets on loopback addresses: a probe proves both ends,
// survives a peer whose socket opens late, tells a restarted peer at once, and gives strangers, other tokens
// and other jobs nothing.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/rendezvous/clock.js';
import type { WireIdentity } from '../../src/rendezvous/handshake.js';
import { ProbeSocket, UDP_NO_ANSWER_MS } from '../../src/rendezvous/mesh-udp.js';
import { encodeProbe, parseProbe, proveStep } from '../../src/rendezvous/probe-datagram.js';

const TOKEN = 'fedcba9876543210fedcba9876543210';
const JOB = 'ns/job/4';
const open: (ProbeSocket | dgram.Socket)[] = [];

afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

/** A UDP port free on 127.0.0.2 and 127.0.0.3 (the two agents of a test use the same one, as pods do). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const ok = await Promise.all(
      ['127.0.0.2', '127.0.0.3'].map(
        (host) =>
          new Promise<boolean>((resolve) => {
            const s = dgram.createSocket('udp4');
            s.once('error', () => resolve(false));
            s.bind(port, host, () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no free UDP port');
}

function wire(
  index: number,
  incarnation: string,
  token: string | undefined = TOKEN,
  job = JOB,
): WireIdentity {
  return { job, index, incarnation, token };
}

interface Agent {
  socket: ProbeSocket;
  proved: { index: number; incarnation: string; address: string }[];
}

async function agent(
  host: string,
  port: number,
  id: WireIdentity,
  admits: (index: number) => boolean = (i) => i > 0 && i < 4 && i !== id.index,
  peerPort = port,
): Promise<Agent> {
  const proved: Agent['proved'] = [];
  const socket = await ProbeSocket.open({
    wire: id,
    port,
    peerPort,
    listen: host,
    clock: systemClock,
    admits,
    onProved: (index, incarnation, address) => proved.push({ index, incarnation, address }),
  });
  if (typeof socket === 'string') throw new Error(socket);
  open.push(socket);
  return { socket, proved };
}

const never = new AbortController().signal;

describe('mesh probes over UDP', () => {
  it('a probe proves the acceptor to the dialler and the dialler to the acceptor, two datagrams in all', async () => {
    const port = await freePort();
    const a = await agent('127.0.0.2', port, wire(1, 'aaaa'));
    const b = await agent('127.0.0.3', port, wire(2, 'bbbb'));
    expect(await a.socket.probe('127.0.0.3', 2, 'bbbb', never)).toEqual({ kind: 'proved' });
    expect(b.proved).toEqual([{ index: 1, incarnation: 'aaaa', address: '127.0.0.2' }]);
    expect(a.proved).toEqual([]);
    expect([a.socket.sent, b.socket.sent]).toEqual([1, 1]);
  });

  it('a peer whose socket opens after the probe started is reached by the open sent again', async () => {
    const port = await freePort();
    const a = await agent('127.0.0.2', port, wire(1, 'aaaa'));
    const verdict = a.socket.probe('127.0.0.3', 2, 'bbbb', never);
    await new Promise((r) => setTimeout(r, 400));
    const b = await agent('127.0.0.3', port, wire(2, 'bbbb'));
    expect(await verdict).toEqual({ kind: 'proved' });
    expect(b.proved).toHaveLength(1);
    // Sent at 0 and 250 ms into a closed port, then at 750 ms: answered.
    expect(a.socket.sent).toBe(3);
  });

  it('a peer restarted at the relayed address answers as itself: the dialler knows at once', async () => {
    const port = await freePort();
    const a = await agent('127.0.0.2', port, wire(1, 'aaaa'));
    await agent('127.0.0.3', port, wire(2, 'b2b2'));
    const started = Date.now();
    const v = await a.socket.probe('127.0.0.3', 2, 'b1b1', never);
    expect(v).toEqual({
      kind: 'wrong-identity',
      detail: '127.0.0.3 answers as incarnation b2b2, expected b1b1',
    });
    expect(Date.now() - started).toBeLessThan(UDP_NO_ANSWER_MS);
  });

  it('another token, another job or an index it does not take: no answer, nobody counted', async () => {
    const port = await freePort();
    const a = await agent('127.0.0.2', port, wire(1, 'aaaa'));
    const b = await agent('127.0.0.3', port, wire(2, 'bbbb', 'another-token-0123456789abcdef'));
    const c = await agent(
      '127.0.0.2',
      await freePort(),
      wire(3, 'cccc', TOKEN, 'ns/other/4'),
      () => true,
      port,
    );
    // a and b differ in token; c and a share it but not the job.
    const verdicts = await Promise.all([
      a.socket.probe('127.0.0.3', 2, 'bbbb', never),
      c.socket.probe('127.0.0.2', 1, 'aaaa', never),
    ]);
    expect(verdicts).toEqual([{ kind: 'no-answer' }, { kind: 'no-answer' }]);
    expect(b.proved).toEqual([]);
    expect(a.proved).toEqual([]);
    expect(b.socket.sent).toBe(0);
    // An acceptor that does not take index 1 (the coordinator's index, or outside the job) says nothing either.
    const port2 = await freePort();
    const d = await agent('127.0.0.2', port2, wire(1, 'dddd'));
    const e = await agent('127.0.0.3', port2, wire(2, 'eeee'), () => false);
    expect(await d.socket.probe('127.0.0.3', 2, 'eeee', never)).toEqual({ kind: 'no-answer' });
    expect([e.proved, e.socket.sent]).toEqual([[], 0]);
  }, 15_000);

  it("a stranger's bytes and opens without the token's proof get nothing back", async () => {
    const port = await freePort();
    const b = await agent('127.0.0.3', port, wire(2, 'bbbb'));
    const stranger = dgram.createSocket('udp4');
    open.push(stranger);
    const got: Buffer[] = [];
    stranger.on('message', (m) => got.push(m));
    await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.2', resolve));
    const forged = (proof: string) =>
      encodeProbe({ step: 'open', job: JOB, from: 1, inc: 'aaaa', to: 2, toInc: 'bbbb', n: '1234', proof });
    for (const bytes of [
      Buffer.from('GET / HTTP/1.0\r\n\r\n'),
      Buffer.alloc(2000, 0x7b),
      Buffer.from('{"v":2,"t":"open"}'),
      forged(''),
      forged('ab'.repeat(32)),
      encodeProbe({ step: 'answer', job: JOB, from: 1, inc: 'aaaa', to: 2, n: '1234', proof: '' }),
    ])
      stranger.send(bytes, port, '127.0.0.3');
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([]);
    expect(b.proved).toEqual([]);
    // The same open with the token's proof is answered, to the port it came from, and counted.
    const parties = {
      job: JOB,
      dialler: { index: 1, incarnation: 'aaaa' },
      acceptor: { index: 2, incarnation: 'bbbb' },
      n: '1234',
    };
    stranger.send(forged(proveStep(TOKEN, 'open', parties)), port, '127.0.0.3');
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(parseProbe(got[0]!)).toMatchObject({ step: 'answer', from: 2, inc: 'bbbb', to: 1, n: '1234' });
    expect(b.proved).toEqual([{ index: 1, incarnation: 'aaaa', address: '127.0.0.2' }]);
  });

  it('a dual-stack socket (no listen address) answers IPv4 peers and names them without ::ffff:', async () => {
    const port = await freePort();
    const peerPort = await freePort();
    const proved: { index: number; address: string }[] = [];
    const b = await ProbeSocket.open({
      wire: wire(2, 'bbbb'),
      port,
      peerPort,
      listen: undefined,
      clock: systemClock,
      admits: () => true,
      onProved: (index, _inc, address) => proved.push({ index, address }),
    });
    if (typeof b === 'string') throw new Error(b);
    open.push(b);
    const a = await ProbeSocket.open({
      wire: wire(1, 'aaaa'),
      port: peerPort,
      peerPort: port,
      listen: '127.0.0.2',
      clock: systemClock,
      admits: () => true,
      onProved: () => {},
    });
    if (typeof a === 'string') throw new Error(a);
    open.push(a);
    expect(await a.probe('127.0.0.1', 2, 'bbbb', never)).toEqual({ kind: 'proved' });
    expect(proved).toEqual([{ index: 1, address: '127.0.0.2' }]);
    // And it reaches an IPv4 peer itself (addressed as ::ffff:127.0.0.2 on the wire).
    expect(await b.probe('127.0.0.2', 1, 'aaaa', never)).toEqual({ kind: 'proved' });
  });

  it('an aborted probe ends at once; a closed socket ends every probe; a taken port is said, not thrown', async () => {
    const port = await freePort();
    const a = await agent('127.0.0.2', port, wire(1, 'aaaa'));
    const stop = new AbortController();
    const v = a.socket.probe('127.0.0.3', 2, 'bbbb', stop.signal);
    stop.abort();
    expect(await v).toEqual({ kind: 'aborted' });
    const pending = a.socket.probe('127.0.0.3', 2, 'bbbb', never);
    a.socket.close();
    expect(await pending).toEqual({ kind: 'no-answer' });
    const holder = await agent('127.0.0.3', port, wire(2, 'bbbb'));
    const taken = await ProbeSocket.open({
      wire: wire(3, 'cccc'),
      port,
      listen: '127.0.0.3',
      clock: systemClock,
      admits: () => true,
      onProved: () => {},
    });
    expect(taken).toMatch(new RegExp(`cannot bind UDP 127\\.0\\.0\\.3:${port}: EADDRINUSE`));
    expect(holder.proved).toEqual([]);
  });
});
