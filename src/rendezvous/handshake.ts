// The hello / welcome / auth / accepted exchange that opens every agent-to-agent connection.
import { newNonce, proofInput, prove, verifyProof } from './auth.js';
import type { Channel } from './channel.js';
import { ProtocolError } from './frames.js';
import {
  type Hello,
  PROTOCOL_VERSION,
  type Purpose,
  type Reject,
  type RejectCode,
  type Welcome,
} from './messages.js';

/** Who this agent is on the wire. */
export interface WireIdentity {
  readonly job: string;
  readonly index: number;
  readonly incarnation: string;
  readonly token: string | undefined;
}

/** What `admit` answers to refuse a hello; `released` refusals say which barrier and when. */
export interface Refusal {
  code: RejectCode;
  reason: string;
  generation?: string;
  releasedAt?: number;
}

/** The handshake failed for a reason worth showing to the user ("wrong identity", "token mismatch"). */
export class HandshakeError extends ProtocolError {
  readonly reason: RejectCode | 'closed' | 'timeout';
  /** A `released` reject: the generation and release time (epoch ms) the acceptor sent, when it sent them. */
  readonly released: { generation?: string; releasedAt?: number } | undefined;
  constructor(
    reason: RejectCode | 'closed' | 'timeout',
    message: string,
    released?: { generation?: string; releasedAt?: number },
  ) {
    super(message);
    this.reason = reason;
    this.released = released;
  }
}

function rejected(channel: Channel, reply: Reject): HandshakeError {
  return new HandshakeError(
    reply.code,
    `rejected by ${channel.remoteAddress}: ${reply.reason}`,
    reply.code === 'released'
      ? {
          ...(reply.generation === undefined ? {} : { generation: reply.generation }),
          ...(reply.releasedAt === undefined ? {} : { releasedAt: reply.releasedAt }),
        }
      : undefined,
  );
}

/** Open a connection as initiator; `expectIndex` is the index we dialled. Returns the peer's welcome. */
export async function initiate(
  channel: Channel,
  self: WireIdentity,
  purpose: Purpose,
  expectIndex: number | undefined,
  deadline: number,
): Promise<Welcome> {
  const nonce = newNonce();
  channel.send({
    v: PROTOCOL_VERSION,
    type: 'hello',
    job: self.job,
    index: self.index,
    incarnation: self.incarnation,
    purpose,
    nonce,
  });
  const reply = await receive(channel, deadline);
  if (reply.type === 'reject') throw rejected(channel, reply);
  if (reply.type !== 'welcome') return fail(channel, 'protocol', `expected welcome, got ${reply.type}`);
  if (reply.job !== self.job)
    return fail(
      channel,
      'wrong-job',
      `${channel.remoteAddress} belongs to job ${JSON.stringify(reply.job)}, not ${JSON.stringify(self.job)}`,
    );
  if (expectIndex !== undefined && reply.index !== expectIndex) {
    return fail(
      channel,
      'wrong-index',
      `${channel.remoteAddress} is index ${reply.index}, expected ${expectIndex}`,
    );
  }
  const theirs = proofInput('acceptor', reply.nonce, nonce, reply.job, reply.index, reply.incarnation);
  if (!verifyProof(self.token, theirs, reply.proof)) {
    return fail(
      channel,
      'auth',
      `${channel.remoteAddress} failed the token check (token mismatch${self.token ? '' : ', or only the peer has a token'})`,
    );
  }
  // A probe only checks who answers at an address (mesh): the acceptor's proof is all it needs.
  if (purpose === 'probe') return reply;
  channel.send({
    v: PROTOCOL_VERSION,
    type: 'auth',
    proof: prove(
      self.token,
      proofInput('initiator', nonce, reply.nonce, self.job, self.index, self.incarnation),
    ),
  });
  const done = await receive(channel, deadline);
  if (done.type === 'reject') throw rejected(channel, done);
  if (done.type !== 'accepted') return fail(channel, 'protocol', `expected accepted, got ${done.type}`);
  return reply;
}

/**
 * Answer a connection as acceptor. `admit` may refuse a hello (e.g. a member dialling a non-coordinator).
 * Returns the peer's hello once it proved the token.
 */
export async function accept(
  channel: Channel,
  self: WireIdentity,
  admit: (hello: Hello) => Refusal | undefined,
  deadline: number,
): Promise<Hello> {
  const hello = await receive(channel, deadline);
  if (hello.type !== 'hello') return fail(channel, 'protocol', `expected hello, got ${hello.type}`);
  if (hello.job !== self.job)
    return fail(channel, 'wrong-job', `job ${JSON.stringify(hello.job)} is not ${JSON.stringify(self.job)}`);
  const refusal = admit(hello);
  if (refusal) return fail(channel, refusal.code, refusal.reason, refusal);
  const nonce = newNonce();
  channel.send({
    v: PROTOCOL_VERSION,
    type: 'welcome',
    job: self.job,
    index: self.index,
    incarnation: self.incarnation,
    nonce,
    proof: prove(
      self.token,
      proofInput('acceptor', nonce, hello.nonce, self.job, self.index, self.incarnation),
    ),
  });
  // A probe grants nothing: the prober checks our proof and hangs up.
  if (hello.purpose === 'probe') return hello;
  const auth = await receive(channel, deadline);
  if (auth.type === 'reject')
    throw new HandshakeError(auth.code, `rejected by ${channel.remoteAddress}: ${auth.reason}`);
  if (auth.type !== 'auth') return fail(channel, 'protocol', `expected auth, got ${auth.type}`);
  const theirs = proofInput('initiator', hello.nonce, nonce, hello.job, hello.index, hello.incarnation);
  if (!verifyProof(self.token, theirs, auth.proof))
    return fail(channel, 'auth', `${channel.remoteAddress} failed the token check (token mismatch)`);
  channel.send({ v: PROTOCOL_VERSION, type: 'accepted' });
  return hello;
}

async function receive(channel: Channel, deadline: number) {
  try {
    return await channel.receive(deadline);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (channel.closed?.kind === 'version') throw new HandshakeError('version', message);
    throw new HandshakeError(message.includes('deadline') ? 'timeout' : 'closed', message);
  }
}

function fail(channel: Channel, code: RejectCode, reason: string, extra?: Refusal): never {
  const released =
    extra?.code === 'released'
      ? {
          ...(extra.generation === undefined ? {} : { generation: extra.generation }),
          ...(extra.releasedAt === undefined ? {} : { releasedAt: extra.releasedAt }),
        }
      : undefined;
  channel.send({ v: PROTOCOL_VERSION, type: 'reject', code, reason, ...released });
  channel.close({ kind: 'local', message: reason });
  throw new HandshakeError(code, reason, released);
}
