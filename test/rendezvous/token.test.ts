// The token on the wire: the dialler proves it first, so a client without it never gets a byte that depends
// on it (no offline guessing oracle); a wrong token is named on both ends. Real sockets on 127.38.x.y.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Channel } from '../../src/rendezvous/channel.js';
import { encodeFrame, FrameDecoder } from '../../src/rendezvous/frames.js';
import { accept, type HandshakeError, initiate, type WireIdentity } from '../../src/rendezvous/handshake.js';
import { PROTOCOL_VERSION } from '../../src/rendezvous/messages.js';
import { waitForPeers } from '../../src/rendezvous/wait.js';
import { type LoopbackJob, loopbackJob, podIp } from '../helpers/job.js';

const BLOCK = 38;
const JOB_KEY = 'default/example-job/2';
let job: LoopbackJob | undefined;
const stops: AbortController[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s.abort();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await job?.close();
  job = undefined;
});

/** A coordinator with `token` waiting for a member that never comes. */
async function coordinatorWith(token: string): Promise<void> {
  job = await loopbackJob(2, BLOCK);
  job.publish(0);
  const stop = new AbortController();
  stops.push(stop);
  waitForPeers(job.options(0, { token, signal: stop.signal })).catch(() => {});
  await new Promise((r) => setTimeout(r, 100));
}

/** Connect as a client without the token: send `frames` one by one (each after a reply), collect replies. */
async function exchange(port: number, frames: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  const socket = connect({ host: podIp(BLOCK, 0), port, localAddress: podIp(BLOCK, 1) });
  socket.on('error', () => {});
  await once(socket, 'connect');
  const decoder = new FrameDecoder(1 << 20);
  const got: Record<string, unknown>[] = [];
  let sent = 0;
  const next = () => {
    if (sent < frames.length) socket.write(encodeFrame(frames[sent++]!));
  };
  socket.on('data', (chunk) => {
    const fresh = decoder.push(chunk) as Record<string, unknown>[];
    got.push(...fresh);
    if (fresh.length > 0) next();
  });
  next();
  await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 3000))]);
  socket.destroy();
  return got;
}

const hello = (purpose: string) => ({
  v: PROTOCOL_VERSION,
  type: 'hello',
  job: JOB_KEY,
  index: 1,
  incarnation: randomBytes(8).toString('hex'),
  purpose,
  nonce: randomBytes(16).toString('hex'),
});

/** The replies with the fields drawn at random by the acceptor (its nonce and incarnation) masked. */
const masked = (frames: Record<string, unknown>[]) =>
  frames.map((f) => ({
    ...f,
    ...('nonce' in f ? { nonce: '*' } : {}),
    ...('incarnation' in f ? { incarnation: '*' } : {}),
  }));

describe('the token on the wire', () => {
  it('a client without the token gets the same bytes whatever the token is: a challenge, then a reject', async () => {
    const replies: Record<string, unknown>[][][] = [];
    for (const token of ['correct horse battery staple', 'a-completely-different-secret']) {
      await coordinatorWith(token);
      const runs: Record<string, unknown>[][] = [];
      // join and probe (a probe once got the acceptor's proof at once), with an empty, a random and a
      // malformed proof, and with no auth at all (the client hangs up after the challenge).
      for (const purpose of ['join', 'probe']) {
        for (const proof of ['', randomBytes(32).toString('hex'), 'zz']) {
          runs.push(
            masked(await exchange(job!.port, [hello(purpose), { v: PROTOCOL_VERSION, type: 'auth', proof }])),
          );
        }
      }
      replies.push(runs);
      for (const s of stops.splice(0)) s.abort();
      await job!.close();
      job = undefined;
    }
    expect(replies[0]).toEqual(replies[1]);
    for (const run of replies[0]!) {
      expect(run.some((f) => 'proof' in f)).toBe(false);
      if (run.length === 1) {
        // The coordinator takes joins only: a probe is refused before any challenge.
        expect(run[0]).toMatchObject({ type: 'reject', code: 'not-coordinator' });
        continue;
      }
      expect(run.map((f) => f.type)).toEqual(['challenge', 'reject']);
      expect(Object.keys(run[0]!).sort()).toEqual(['incarnation', 'index', 'job', 'nonce', 'type', 'v']);
      expect(run[1]).toMatchObject({ code: 'auth', reason: expect.stringMatching(/token mismatch/) });
    }
    expect(replies[0]!.filter((r) => r.length === 2)).toHaveLength(3);
  }, 30_000);

  it('any proof a client without the token makes up is rejected, and nothing but the challenge comes first', async () => {
    await coordinatorWith('s3cret-token-value');
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 128 }), async (proof) => {
        const got = await exchange(job!.port, [hello('join'), { v: PROTOCOL_VERSION, type: 'auth', proof }]);
        expect(got.map((f) => f.type)).toEqual(['challenge', 'reject']);
      }),
      { numRuns: 40 },
    );
  }, 30_000);

  it('an address the coordinator announces to gets a hello and nothing derived from the token, whatever it answers', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    job.publish(1); // pod 1's record points at an impostor (a recycled pod IP, a stale cached answer)
    const got: Record<string, unknown>[] = [];
    let closed = 0;
    const impostor = createServer((socket) => {
      socket.on('error', () => {});
      socket.on('close', () => closed++);
      const decoder = new FrameDecoder(1 << 20);
      socket.on('data', (chunk) => {
        for (const f of decoder.push(chunk) as Record<string, unknown>[]) {
          got.push(f);
          // Answer as a member would have in protocol 2 before announces went proofless: a challenge.
          if (f.type === 'hello')
            socket.write(
              encodeFrame({
                v: PROTOCOL_VERSION,
                type: 'challenge',
                job: f.job,
                index: 1,
                incarnation: 'i',
                nonce: 'n',
              }),
            );
        }
      });
    });
    await new Promise<void>((resolve) => impostor.listen(job!.port, podIp(BLOCK, 1), resolve));
    servers.push(impostor);
    const stop = new AbortController();
    stops.push(stop);
    waitForPeers(job.options(0, { token: 'a-long-random-token-0123456789', signal: stop.signal })).catch(
      () => {},
    );
    for (let i = 0; i < 200 && closed === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBeGreaterThan(0); // the coordinator announced and hung up
    await new Promise((r) => setTimeout(r, 200)); // anything it would have sent after the challenge
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((f) => f.type === 'hello' && f.purpose === 'announce')).toBe(true);
    expect(JSON.stringify(got)).not.toMatch(/proof/);
  }, 20_000);

  it('a member answers an announce with nothing (no challenge) and still joins its coordinator', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(1);
    const token = 'a-long-random-token-0123456789';
    const member = waitForPeers(job.options(1, { token }));
    await new Promise((r) => setTimeout(r, 100));
    // A stranger (no token) announces itself as index 0 to the member: a hint, answered with nothing.
    const socket = connect({ host: podIp(BLOCK, 1), port: job.port, localAddress: podIp(BLOCK, 0) });
    socket.on('error', () => {});
    const bytes: Buffer[] = [];
    socket.on('data', (b) => bytes.push(b));
    await once(socket, 'connect');
    socket.write(encodeFrame({ ...hello('announce'), index: 0 }));
    await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 3000))]);
    expect(socket.destroyed).toBe(true);
    socket.destroy();
    expect(Buffer.concat(bytes).length).toBe(0);
    // The real coordinator comes: the member joins it as usual, proofs both ways.
    job.publish(0);
    const [c, m] = await Promise.all([waitForPeers(job.options(0, { token })), member]);
    expect(c.generation).toBe(m.generation);
  }, 20_000);

  describe('a wrong token is named on both ends', () => {
    /** Run one handshake over a real socket pair; returns what each side ended with. */
    async function handshake(
      dialler: string | undefined,
      acceptor: string | undefined,
      diallerIncarnation?: string,
    ) {
      let resolveSocket!: (s: Socket) => void;
      const accepted = new Promise<Socket>((r) => {
        resolveSocket = r;
      });
      const server = createServer(resolveSocket);
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, podIp(BLOCK, 0), r));
      const { port } = server.address() as { port: number };
      const client = connect({ host: podIp(BLOCK, 0), port, localAddress: podIp(BLOCK, 1) });
      await once(client, 'connect');
      const a = new Channel(await accepted, 64 * 1024);
      const d = new Channel(client, 64 * 1024);
      const id = (index: number, token: string | undefined): WireIdentity => ({
        job: JOB_KEY,
        index,
        incarnation: `inc-${index}`,
        token,
      });
      const deadline = Date.now() + 2000;
      const [acc, ini] = await Promise.allSettled([
        accept(a, id(0, acceptor), () => undefined, { hello: deadline, end: deadline }),
        initiate(d, { ...id(1, dialler), incarnation: diallerIncarnation ?? 'inc-1' }, 'join', 0, deadline),
      ]);
      a.close();
      d.close();
      return { acc, ini };
    }
    const reason = (r: PromiseSettledResult<unknown>) =>
      r.status === 'rejected'
        ? `${(r.reason as HandshakeError).reason}: ${(r.reason as Error).message}`
        : 'ok';

    it('the same token: both sides accept', async () => {
      const { acc, ini } = await handshake('same', 'same');
      expect([acc.status, ini.status]).toEqual(['fulfilled', 'fulfilled']);
    });
    it('another token', async () => {
      const { acc, ini } = await handshake('beta', 'alpha');
      expect(reason(acc)).toMatch(
        /^auth: index 1 at 127\.38\.0\.2 failed the token check \(token mismatch\)$/,
      );
      expect(reason(ini)).toMatch(/^auth: rejected by 127\.38\.0\.1: index 1 .*token mismatch/);
    });
    it('only the acceptor has a token', async () => {
      const { acc, ini } = await handshake(undefined, 'alpha');
      expect(reason(acc)).toMatch(/^auth: .*token mismatch: it has no token\)$/);
      expect(reason(ini)).toMatch(/^auth: rejected by .*it has no token/);
    });
    it("a hello with the acceptor's own incarnation (a reflected proof) is refused before any challenge", async () => {
      const { acc, ini } = await handshake('same', 'same', 'inc-0');
      expect(reason(acc)).toBe("wrong-index: incarnation inc-0 is this agent's own");
      expect(reason(ini)).toMatch(/^wrong-index: rejected by .*this agent's own/);
    });
    it('only the dialler has a token', async () => {
      const { acc, ini } = await handshake('alpha', undefined);
      expect(reason(acc)).toMatch(/^auth: .*token mismatch: only the peer has a token\)$/);
      expect(reason(ini)).toMatch(/^auth: rejected by .*only the peer has a token/);
    });
  });
});
