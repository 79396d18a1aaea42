// The hello / challenge / auth / accepted exchange that opens every agent-to-agent connection.
//
//   dialler  → hello     {identity, nonce}
//   acceptor → challenge {identity, nonce}             nothing derived from the token
//   dialler  → auth      {proof}                       HMAC(token, initiator role + whole exchange)
//   acceptor → accepted  {proof}                       only once the dialler's proof checked out
//
// An `announce` (a late coordinator telling members it is up) is a hello and nothing more, in both
// directions: no challenge, no proof. It is a hint: the member dials its source once (a normal `join`, so the
// coordinator proves index 0 there) before it falls back to the coordinator's name. Whatever answers an
// address the coordinator announces to (a recycled pod IP in the Service's answer) gets nothing derived from
// the token; a stranger who sends an announce gets the member's join proof (see below).
//
// A client that connects without the token gets a challenge and then a reject: no byte it receives depends
// on the token, so there is nothing to guess it against offline; each guess costs a connection (see
// admission.ts). Whatever ANSWERS a dial does get the dialler's proof (a recycled pod IP, a stale DNS
// answer): hence tokens under MIN_TOKEN_BYTES are refused (auth.ts).
import { newNonce, type Party, proofInput, prove, verifyProof } from './auth.js';
import type { Channel } from './channel.js';
import { ProtocolError } from './frames.js';
import {
  type Challenge,
  type Hello,
  PROTOCOL_VERSION,
  type Purpose,
  type Reject,
  type RejectCode,
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

/** Open a connection as initiator; `expectIndex` is the index we dialled. Returns the peer's challenge. */
export async function initiate(
  channel: Channel,
  self: WireIdentity,
  purpose: Purpose,
  expectIndex: number | undefined,
  deadline: number,
): Promise<Challenge> {
  const nonce = sendHello(channel, self, purpose);
  const reply = await receive(channel, deadline);
  if (reply.type === 'reject') throw rejected(channel, reply);
  if (reply.type !== 'challenge') return fail(channel, 'protocol', `expected challenge, got ${reply.type}`);
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
  const me: Party = { index: self.index, incarnation: self.incarnation, nonce };
  const them: Party = { index: reply.index, incarnation: reply.incarnation, nonce: reply.nonce };
  channel.send({
    v: PROTOCOL_VERSION,
    type: 'auth',
    proof: prove(self.token, proofInput('initiator', self.job, purpose, me, them)),
  });
  const done = await receive(channel, deadline);
  if (done.type === 'reject') throw rejected(channel, done);
  if (done.type !== 'accepted') return fail(channel, 'protocol', `expected accepted, got ${done.type}`);
  if (!verifyProof(self.token, proofInput('acceptor', self.job, purpose, me, them), done.proof)) {
    return fail(
      channel,
      'auth',
      `${channel.remoteAddress} failed the token check (token mismatch${self.token ? '' : ', or only the peer has a token'})`,
    );
  }
  return reply;
}

/**
 * Announce (purpose `announce`): send a hello, then close. It proves nothing and asks for nothing; see the
 * header. Resolves to true when the other end took it (hung up without a word, as a member's agent does),
 * false when it answered (a reject: e.g. our own listener) or said nothing by `deadline`. Unauthenticated:
 * "taken" only means something hung up.
 */
export async function announceTo(channel: Channel, self: WireIdentity, deadline: number): Promise<boolean> {
  sendHello(channel, self, 'announce');
  try {
    await channel.receive(deadline);
    return false; // it answered: not a member's agent taking an announce
  } catch {
    return channel.closed?.kind === 'closed';
  } finally {
    channel.close({ kind: 'local', message: 'announced' });
  }
}

/** Send the dialler's hello with a fresh nonce; returns the nonce (the proofs cover it). */
function sendHello(channel: Channel, self: WireIdentity, purpose: Purpose): string {
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
  return nonce;
}

/** Deadlines of an inbound handshake (epoch ms): for the dialler's hello, and for the whole exchange. */
export interface AcceptDeadlines {
  readonly hello: number;
  readonly end: number;
}

/**
 * Answer a connection as acceptor. `admit` may refuse a hello (e.g. a member dialling a non-coordinator);
 * `onHello` is told when a well-formed hello arrived. Returns the peer's hello once it proved the token, or
 * at once for an `announce` (unauthenticated, answered with nothing: a hint only, see the header).
 */
export async function accept(
  channel: Channel,
  self: WireIdentity,
  admit: (hello: Hello) => Refusal | undefined,
  deadlines: AcceptDeadlines,
  onHello?: () => void,
): Promise<Hello> {
  const hello = await receive(channel, deadlines.hello, 'sent no hello');
  if (hello.type !== 'hello') return fail(channel, 'protocol', `expected hello, got ${hello.type}`);
  onHello?.();
  if (hello.job !== self.job)
    return fail(channel, 'wrong-job', `job ${JSON.stringify(hello.job)} is not ${JSON.stringify(self.job)}`);
  // Our own incarnation can only come back reflected: a proof of ours replayed at us.
  if (hello.incarnation === self.incarnation)
    return fail(channel, 'wrong-index', `incarnation ${hello.incarnation} is this agent's own`);
  const refusal = admit(hello);
  if (refusal) return fail(channel, refusal.code, refusal.reason, refusal);
  if (hello.purpose === 'announce') return hello;
  const nonce = newNonce();
  channel.send({
    v: PROTOCOL_VERSION,
    type: 'challenge',
    job: self.job,
    index: self.index,
    incarnation: self.incarnation,
    nonce,
  });
  const auth = await receive(channel, deadlines.end);
  if (auth.type === 'reject') throw rejected(channel, auth);
  if (auth.type !== 'auth') return fail(channel, 'protocol', `expected auth, got ${auth.type}`);
  const them: Party = { index: hello.index, incarnation: hello.incarnation, nonce: hello.nonce };
  const me: Party = { index: self.index, incarnation: self.incarnation, nonce };
  if (!verifyProof(self.token, proofInput('initiator', self.job, hello.purpose, them, me), auth.proof)) {
    return fail(
      channel,
      'auth',
      `index ${hello.index} at ${channel.remoteAddress} failed the token check (token mismatch${self.token ? (auth.proof === '' ? ': it has no token' : '') : ': only the peer has a token'})`,
    );
  }
  channel.send({
    v: PROTOCOL_VERSION,
    type: 'accepted',
    proof: prove(self.token, proofInput('acceptor', self.job, hello.purpose, them, me)),
  });
  return hello;
}

function rejected(channel: Channel, reply: Reject): HandshakeError {
  channel.close({ kind: 'local', message: `rejected: ${reply.reason}` });
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

async function receive(channel: Channel, deadline: number, late = 'handshake deadline passed') {
  try {
    return await channel.receive(deadline, undefined, late);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (channel.closed?.kind === 'version') throw new HandshakeError('version', message);
    throw new HandshakeError(message === late ? 'timeout' : 'closed', message);
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
