// Agents of different releases (another protocol version) say so, on both ends of a connection, instead of
// hanging up silently: the pods of a Job ran different images (a mutable tag pulled at different times).
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/rendezvous/agent.js';
import type { RendezvousTimeoutError } from '../../src/rendezvous/errors.js';
import { encodeFrame, FrameDecoder } from '../../src/rendezvous/frames.js';
import { PROTOCOL_VERSION } from '../../src/rendezvous/messages.js';
import { waitForPeers } from '../../src/rendezvous/wait.js';
import { type LoopbackJob, loopbackJob, podIp } from '../helpers/job.js';

const BLOCK = 34;
const NEXT = PROTOCOL_VERSION + 1;
let job: LoopbackJob | undefined;
const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  await job?.close();
  job = undefined;
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Every frame `socket` receives until it closes (bounded by `ms`), decoded as plain JSON. */
function framesOf(socket: Socket, ms = 3000): Promise<Record<string, unknown>[]> {
  const decoder = new FrameDecoder(64 * 1024);
  const frames: Record<string, unknown>[] = [];
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve(frames);
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (chunk) => {
      for (const f of decoder.push(chunk) as unknown as Record<string, unknown>[]) frames.push(f);
    });
    socket.on('close', done);
  });
}

/** A coordinator of the next release: answers every hello with `reply`, records what comes back. */
async function nextReleaseCoordinator(port: number, reply: Record<string, unknown>) {
  const received: Record<string, unknown>[][] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const decoder = new FrameDecoder(64 * 1024);
    const got: Record<string, unknown>[] = [];
    received.push(got);
    socket.on('data', (chunk) => {
      for (const f of decoder.push(chunk) as unknown as Record<string, unknown>[]) {
        got.push(f);
        if (f.type === 'hello') socket.write(encodeFrame(reply));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, podIp(BLOCK, 0), resolve));
  servers.push(server);
  return received;
}

describe('agents of different releases', () => {
  it('a coordinator answers a hello of another protocol version with a version reject and a warning', async () => {
    job = await loopbackJob(2, BLOCK);
    job.publish(0);
    const events: ProgressEvent[] = [];
    const stop = new AbortController();
    const coordinator = waitForPeers(
      job.options(0, { onProgress: (e) => events.push(e), signal: stop.signal }),
    ).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    const socket = connect({ host: podIp(BLOCK, 0), port: job.port, localAddress: podIp(BLOCK, 1) });
    sockets.add(socket);
    socket.on('error', () => {});
    const frames = framesOf(socket);
    socket.on('connect', () =>
      socket.write(
        encodeFrame({
          v: NEXT,
          type: 'hello',
          job: 'default/example-job/2',
          index: 1,
          incarnation: 'x',
          purpose: 'join',
          nonce: 'n',
          compression: 'zstd', // whatever a later release adds
        }),
      ),
    );
    const got = await frames;
    expect(got).toEqual([
      {
        v: PROTOCOL_VERSION,
        type: 'reject',
        code: 'version',
        reason: expect.stringContaining(`protocol version ${PROTOCOL_VERSION}, not ${NEXT}`),
      },
    ]);
    const warnings = events.filter((e) => e.type === 'warning');
    expect(warnings).toEqual([
      {
        type: 'warning',
        message: expect.stringContaining(`${podIp(BLOCK, 1)} dialled in with another protocol`),
      },
    ]);
    stop.abort();
    expect(await coordinator).toMatchObject({ code: 'RDV_ERR_ABORTED' });
  });

  it('a member that gets an answer of another protocol version rejects it and reports mixed releases', async () => {
    job = await loopbackJob(2, BLOCK);
    const received = await nextReleaseCoordinator(job.port, {
      v: NEXT,
      type: 'welcome',
      job: 'default/example-job/2',
      index: 0,
      incarnation: 'y',
      nonce: 'm',
      proof: '',
    });
    job.publish(0);
    job.publish(1);
    const error = (await waitForPeers(job.options(1, { timeoutMs: 1500 })).catch(
      (e: unknown) => e,
    )) as RendezvousTimeoutError;
    expect(error.code).toBe('RDV_ERR_TIMEOUT');
    const coordinator = error.peers.find((p) => p.index === 0);
    expect(coordinator).toMatchObject({ state: 'version-mismatch' });
    expect(coordinator?.detail).toContain(`protocol version ${NEXT}, this agent ${PROTOCOL_VERSION}`);
    expect(error.hints.join('\n')).toContain('different peer-rendezvous releases');
    // It said so to the other end before hanging up.
    expect(received[0]?.at(-1)).toMatchObject({ v: PROTOCOL_VERSION, type: 'reject', code: 'version' });
  });

  it("a member reads a newer agent's version reject and reports its reason", async () => {
    job = await loopbackJob(2, BLOCK);
    const reason = `this agent speaks protocol version ${NEXT}, not ${PROTOCOL_VERSION}: run the same release`;
    await nextReleaseCoordinator(job.port, { v: NEXT, type: 'reject', code: 'version', reason });
    job.publish(0);
    job.publish(1);
    const error = (await waitForPeers(job.options(1, { timeoutMs: 1500 })).catch(
      (e: unknown) => e,
    )) as RendezvousTimeoutError;
    const coordinator = error.peers.find((p) => p.index === 0);
    expect(coordinator).toMatchObject({ state: 'version-mismatch' });
    expect(coordinator?.detail).toContain(reason);
  });
});
