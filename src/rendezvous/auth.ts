// HMAC-SHA256 challenge–response: each side proves it knows the token without sending it. The dialler proves
// first; the acceptor sends nothing derived from the token before that proof checked out (see handshake.ts).
// node:crypto is loaded only when there is a token (random.ts says why the run path avoids it).
import { ConfigError } from '../errors.js';
import { randomBytes } from '../random.js';

/**
 * The shortest token accepted, in bytes (128 bits). Whatever answers a dial (a recycled pod IP, a stale DNS
 * answer) gets the dialler's proof, an HMAC it can attack offline: only a long random token survives that.
 */
export const MIN_TOKEN_BYTES = 16;

/** Refuse a token shorter than MIN_TOKEN_BYTES (UTF-8 bytes); `source` names where it came from. Never prints it. */
export function checkTokenLength(token: string, source: string): void {
  const bytes = Buffer.byteLength(token, 'utf8');
  if (bytes >= MIN_TOKEN_BYTES) return;
  throw new ConfigError(
    `the token from ${source} is ${bytes} byte${bytes === 1 ? '' : 's'} long: expected at least ${MIN_TOKEN_BYTES} random bytes (128 bits); make one with \`openssl rand -hex 16\``,
    { source },
  );
}

/** A fresh 128-bit nonce, hex (two per handshake; random.ts reads the CSPRNG 4 KiB at a time, not per nonce). */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** One side of a handshake, as named in the proofs. */
export interface Party {
  readonly index: number;
  readonly incarnation: string;
  readonly nonce: string;
}

/**
 * What one side signs: its role, then the whole exchange (dialler's and acceptor's nonce and identity, the
 * job, the purpose). Both identities are in it, so a proof made on one connection is worth nothing on another
 * (an agent's proof as dialler cannot be reflected back to it as an acceptor's, or the other way).
 */
export function proofInput(
  role: 'acceptor' | 'initiator',
  job: string,
  purpose: string,
  initiator: Party,
  acceptor: Party,
): string {
  return [
    'peer-rendezvous/2',
    role,
    job,
    purpose,
    initiator.nonce,
    String(initiator.index),
    initiator.incarnation,
    acceptor.nonce,
    String(acceptor.index),
    acceptor.incarnation,
  ].join('\n');
}

/** The proof for `input` under `token`; empty when there is no token. */
export function prove(token: string | undefined, input: string): string {
  if (token === undefined || token === '') return '';
  return process.getBuiltinModule('node:crypto').createHmac('sha256', token).update(input).digest('hex');
}

/** Constant-time check of a proof. With no token, only an empty proof is accepted (and vice versa). */
export function verifyProof(token: string | undefined, input: string, proof: string): boolean {
  const expected = prove(token, input);
  if (expected === '' || proof === '') return expected === proof;
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(proof, 'hex');
  return a.length === b.length && process.getBuiltinModule('node:crypto').timingSafeEqual(a, b);
}
