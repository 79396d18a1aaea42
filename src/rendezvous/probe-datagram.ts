// The mesh probe over UDP, as datagrams (pure: encoding, parsing, proofs). Two datagrams per pair, the proofs
// of the TCP handshake (handshake.ts) in one round trip:
//
//   dialler  → open   {identity, to: index + incarnation relayed by the coordinator, nonce n, proof}
//   acceptor → answer {identity, n, proof}       only once the open's proof checked out
//
// The dialler proves first (as on TCP): a stranger who sends an `open` gets nothing derived from the token.
// The dialler counts the peer proved on a valid `answer` from the address it sent to: that incarnation at
// that address, both directions (the answer came back, fresh: it covers n). The acceptor counts the dialler
// on a valid `open` from the address the coordinator relayed: that it reaches this agent. That its answer
// reaches the dialler the acceptor does not learn, and need not: the dialler says `ready` only once every
// answer came, and nobody is released before everybody said `ready`. An `open` carries no nonce of the
// acceptor's, so a copy of one replayed by someone who saw it and can forge its source counts again, for the
// same two incarnations only (both are in the proof): it says what the original said. Every proof names its
// step and both identities, so neither datagram is worth anything as the other or in another exchange.
import { type Party, proofInput, prove, verifyProof } from './auth.js';
import { PROTOCOL_VERSION } from './messages.js';

/** The largest datagram read as a probe; anything longer is a stranger's and is dropped unread. */
export const MAX_PROBE_DATAGRAM = 1024;

export type ProbeStep = 'open' | 'answer';

/** One probe datagram. `from`/`inc` are the sender's index and incarnation, `to` the receiver's index. */
export interface ProbeDatagram {
  readonly step: ProbeStep;
  readonly job: string;
  readonly from: number;
  readonly inc: string;
  readonly to: number;
  /** `open`: the receiver's incarnation as the coordinator relayed it. */
  readonly toInc?: string;
  /** The dialler's nonce (both steps). */
  readonly n: string;
  readonly proof: string;
}

const STEPS = new Set<string>(['open', 'answer']);
const HEX = /^[0-9a-f]{1,64}$/;

/** The bytes of `d` on the wire (one JSON object). */
export function encodeProbe(d: ProbeDatagram): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: PROTOCOL_VERSION,
      t: d.step,
      job: d.job,
      i: d.from,
      inc: d.inc,
      to: d.to,
      ...(d.toInc === undefined ? {} : { toInc: d.toInc }),
      n: d.n,
      p: d.proof,
    }),
  );
}

/** `bytes` as a probe datagram, or undefined for anything else (another version, a stranger's bytes). */
export function parseProbe(bytes: Buffer): ProbeDatagram | undefined {
  if (bytes.length > MAX_PROBE_DATAGRAM || bytes[0] !== 0x7b /* { */) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null) return undefined;
  const r = o as Record<string, unknown>;
  if (r.v !== PROTOCOL_VERSION || typeof r.t !== 'string' || !STEPS.has(r.t)) return undefined;
  const step = r.t as ProbeStep;
  if (typeof r.job !== 'string' || !isIndex(r.i) || !isIndex(r.to) || !isHex(r.inc) || !isHex(r.n))
    return undefined;
  if (typeof r.p !== 'string' || (r.p !== '' && !isHex(r.p))) return undefined;
  if (step === 'open' ? !isHex(r.toInc) : r.toInc !== undefined) return undefined;
  return {
    step,
    job: r.job,
    from: r.i as number,
    inc: r.inc as string,
    to: r.to as number,
    ...(step === 'open' ? { toInc: r.toInc as string } : {}),
    n: r.n as string,
    proof: r.p,
  };
}

function isIndex(x: unknown): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isHex(x: unknown): boolean {
  return typeof x === 'string' && HEX.test(x);
}

/** The dialler and the acceptor of one exchange, as the proofs name them. */
export interface ProbeParties {
  readonly job: string;
  readonly dialler: { readonly index: number; readonly incarnation: string };
  readonly acceptor: { readonly index: number; readonly incarnation: string };
  readonly n: string;
}

/** What the proof of `step` covers (the TCP handshake's input, with the step as its purpose). */
function probeInput(step: ProbeStep, p: ProbeParties): string {
  const dialler: Party = { index: p.dialler.index, incarnation: p.dialler.incarnation, nonce: p.n };
  const acceptor: Party = { index: p.acceptor.index, incarnation: p.acceptor.incarnation, nonce: '' };
  return proofInput(
    step === 'answer' ? 'acceptor' : 'initiator',
    p.job,
    `udp-probe-${step}`,
    dialler,
    acceptor,
  );
}

/** The proof of `step` under `token` (empty without a token). */
export function proveStep(token: string | undefined, step: ProbeStep, p: ProbeParties): string {
  return prove(token, probeInput(step, p));
}

/** Whether `proof` is the proof of `step` under `token` (constant time). */
export function verifyStep(
  token: string | undefined,
  step: ProbeStep,
  p: ProbeParties,
  proof: string,
): boolean {
  return verifyProof(token, probeInput(step, p), proof);
}
