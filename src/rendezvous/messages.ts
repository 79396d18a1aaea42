// Protocol messages of the barrier, and their validation. Every frame carries the protocol version.
import { ipFamily } from '../dns/ip-bytes.js';
import { ProtocolError } from './frames.js';

/**
 * 2: the acceptor proves the token only after the dialler did (challenge before proofs), `busy` rejects,
 * member `reject` of a release. 1: the acceptor's proof came first (an offline guessing oracle).
 */
export const PROTOCOL_VERSION = 2;

/** Addresses per pod a release may list; the coordinator caps what it sends at this, members reject more. */
export const MAX_ADDRESSES_PER_POD = 16;

/**
 * Why a connection is opened: a member joining the coordinator, a coordinator waking a member, a mesh check,
 * or a replacement coordinator asking a released member's sidecar for the released roster (after-release.ts).
 */
export type Purpose = 'join' | 'announce' | 'probe' | 'rejoin';

export interface Hello {
  v: number;
  type: 'hello';
  job: string;
  index: number;
  incarnation: string;
  purpose: Purpose;
  nonce: string;
}
/** Acceptor → dialler, answering a hello: who answers, and its nonce. Nothing in it depends on the token. */
export interface Challenge {
  v: number;
  type: 'challenge';
  job: string;
  index: number;
  incarnation: string;
  nonce: string;
}
/** Dialler → acceptor: HMAC-SHA256 over the whole exchange (both nonces, both identities), hex; empty without a token. */
export interface Auth {
  v: number;
  type: 'auth';
  proof: string;
}
/** Acceptor → dialler, only once the dialler's proof checked out: the acceptor's own proof. */
export interface Accepted {
  v: number;
  type: 'accepted';
  proof: string;
}
export type RejectCode =
  | 'version'
  | 'wrong-job'
  | 'wrong-index'
  | 'auth'
  | 'not-coordinator'
  | 'protocol'
  /** The acceptor sheds pending handshakes (too many at once, or from one address): retry. */
  | 'busy'
  /** The barrier already released without the dialler (after-release.ts); carries generation and time. */
  | 'released';
export interface Reject {
  v: number;
  type: 'reject';
  code: RejectCode;
  reason: string;
  /** With `released`: the generation and the release time (epoch ms) of the barrier this pod missed. */
  generation?: string;
  releasedAt?: number;
}
/** Member → coordinator: my checks passed for membership epoch `epoch`. */
export interface Ready {
  v: number;
  type: 'ready';
  epoch: number;
}
/** Coordinator → members (mesh): peer `index` joined from `address` with `incarnation`; bumps the epoch. */
export interface PeerJoined {
  v: number;
  type: 'peer';
  epoch: number;
  index: number;
  address: string;
  incarnation: string;
}
/** Coordinator → members: who is still missing, for progress lines and timeout reports. */
export interface Status {
  v: number;
  type: 'status';
  ready: number;
  total: number;
  missing: { index: number; state: string }[];
}
export interface RosterEntry {
  index: number;
  fqdn: string;
  addresses: string[];
}
/**
 * Coordinator → members: everyone is ready. `addresses[i]` are pod i's addresses (names are known to all): the
 * address it connected from first, at most MAX_ADDRESSES_PER_POD. Checked by releaseProblem() on both sides.
 */
export interface Release {
  v: number;
  type: 'release';
  generation: string;
  addresses: string[][];
}
export interface Ack {
  v: number;
  type: 'ack';
  generation: string;
}

export type Message =
  | Hello
  | Challenge
  | Auth
  | Accepted
  | Reject
  | Ready
  | PeerJoined
  | Status
  | Release
  | Ack;

const isStr = (v: unknown, max = 1024): v is string => typeof v === 'string' && v.length <= max;
const isIdx = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < 1_000_000;
const PURPOSES = new Set<string>(['join', 'announce', 'probe', 'rejoin']);
const REJECTS = new Set<string>([
  'version',
  'wrong-job',
  'wrong-index',
  'auth',
  'not-coordinator',
  'protocol',
  'busy',
  'released',
]);

/** A peer's `v` for messages: whatever it sent, JSON, at most 16 characters (it is unauthenticated). */
export function versionText(v: unknown): string {
  const text = v === undefined ? 'none' : (JSON.stringify(v) ?? String(v));
  return text.length > 16 ? `${text.slice(0, 16)}…` : text;
}

/** A frame of another protocol version: the pods run different releases of peer-rendezvous. */
export class VersionMismatchError extends ProtocolError {
  /** The version the peer sent (whatever was in `v`). */
  readonly peerVersion: unknown;
  constructor(peerVersion: unknown) {
    super(
      `the peer speaks protocol version ${versionText(peerVersion)}, this agent ${PROTOCOL_VERSION}: pods run different peer-rendezvous releases`,
    );
    this.peerVersion = peerVersion;
  }
}

/**
 * Check a decoded frame is a well-formed message of our version; throws ProtocolError otherwise
 * (VersionMismatchError for another version; a reject of any version is read as one of ours).
 */
export function parseMessage(raw: unknown): Message {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ProtocolError('message is not an object');
  const m = raw as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) {
    // A reject keeps this shape in every protocol version, so that agents of different versions can say why
    // they hang up (a `version` reject from a newer agent, for one).
    if (m.type === 'reject' && isStr(m.code, 64) && isStr(m.reason)) {
      const code = REJECTS.has(m.code) ? (m.code as RejectCode) : 'protocol';
      return { v: PROTOCOL_VERSION, type: 'reject', code, reason: m.reason };
    }
    throw new VersionMismatchError(m.v);
  }
  const ok = ((): boolean => {
    switch (m.type) {
      case 'hello':
        return (
          isStr(m.job) &&
          isIdx(m.index) &&
          isStr(m.incarnation, 64) &&
          PURPOSES.has(m.purpose as string) &&
          isStr(m.nonce, 64)
        );
      case 'challenge':
        return isStr(m.job) && isIdx(m.index) && isStr(m.incarnation, 64) && isStr(m.nonce, 64);
      case 'auth':
      case 'accepted':
        return isStr(m.proof, 128);
      case 'reject':
        return (
          REJECTS.has(m.code as string) &&
          isStr(m.reason) &&
          (m.generation === undefined || isStr(m.generation, 64)) &&
          (m.releasedAt === undefined ||
            (Number.isSafeInteger(m.releasedAt) && (m.releasedAt as number) >= 0))
        );
      case 'ready':
        return isIdx(m.epoch);
      case 'peer':
        return isIdx(m.epoch) && isIdx(m.index) && isStr(m.address, 64) && isStr(m.incarnation, 64);
      case 'status':
        return (
          isIdx(m.ready) &&
          isIdx(m.total) &&
          Array.isArray(m.missing) &&
          m.missing.every(
            (e) =>
              typeof e === 'object' &&
              e !== null &&
              isIdx((e as { index: unknown }).index) &&
              isStr((e as { state: unknown }).state),
          )
        );
      case 'release':
        return (
          isStr(m.generation, 64) &&
          Array.isArray(m.addresses) &&
          m.addresses.every((a) => Array.isArray(a) && a.every((x) => isStr(x, 64)))
        );
      case 'ack':
        return isStr(m.generation, 64);
      default:
        return false;
    }
  })();
  if (!ok) throw new ProtocolError(`malformed ${JSON.stringify(String(m.type)).slice(0, 40)} message`);
  return m as unknown as Message;
}

/**
 * Why a member cannot use `release` for a job of `completions` pods, or undefined when it can. The coordinator
 * checks its own frame with this before sending it, and every member checks the same bytes: all accept or
 * all reject, for the same reason.
 */
export function releaseProblem(release: Release, completions: number): string | undefined {
  if (release.addresses.length !== completions)
    return `release lists ${release.addresses.length} pods, expected ${completions}`;
  for (let i = 0; i < release.addresses.length; i++) {
    const list = release.addresses[i]!;
    if (list.length > MAX_ADDRESSES_PER_POD)
      return `release lists ${list.length} addresses for pod ${i}, at most ${MAX_ADDRESSES_PER_POD} accepted`;
    const bad = list.find((a) => ipFamily(a) === 0);
    if (bad !== undefined) return `release lists ${JSON.stringify(bad)} for pod ${i}, not an IP address`;
  }
  return undefined;
}
