// HMAC-SHA256 challenge–response: each side proves it knows the token without sending it.
import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';

/** Random bytes drawn from the CSPRNG 4 KiB at a time; each byte is handed out once. */
const pool = Buffer.allocUnsafe(4096);
let poolOffset = pool.length;

/** A fresh 128-bit nonce, hex (two per handshake: one system call per 256 of them, not one each). */
export function newNonce(): string {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const nonce = pool.toString('hex', poolOffset, poolOffset + 16);
  poolOffset += 16;
  return nonce;
}

/** What one side signs: its role, both nonces (own first) and its identity. */
export function proofInput(
  role: 'acceptor' | 'initiator',
  own: string,
  other: string,
  job: string,
  index: number,
  incarnation: string,
): string {
  return ['peer-rendezvous/1', role, own, other, job, String(index), incarnation].join('\n');
}

/** The proof for `input` under `token`; empty when there is no token. */
export function prove(token: string | undefined, input: string): string {
  if (token === undefined || token === '') return '';
  return createHmac('sha256', token).update(input).digest('hex');
}

/** Constant-time check of a proof. With no token, only an empty proof is accepted (and vice versa). */
export function verifyProof(token: string | undefined, input: string, proof: string): boolean {
  const expected = prove(token, input);
  if (expected === '' || proof === '') return expected === proof;
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(proof, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
