// How a failed dial or handshake reads as a peer state, and the small error helpers the roles share.
import { ipFamily } from '../dns/ip-bytes.js';
import { AbortedError } from '../errors.js';
import { HandshakeError } from './handshake.js';
import type { PeerStateKind } from './peer-state.js';

/**
 * The reason of every internal stop (a session or a probe that ended): one object for all. abort() without a
 * reason builds a DOMException with a stack trace each time, N² of them when a mesh of N pods releases.
 */
export const SESSION_ENDED = new AbortedError('session ended');

/** A failed connection attempt and the state it means for the peer. */
export class DialError extends Error {
  readonly state: PeerStateKind;
  constructor(state: PeerStateKind, message: string) {
    super(message);
    this.state = state;
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function hostPort(address: string, port: number): string {
  return ipFamily(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

export function asAbort(reason: unknown): Error {
  if (reason instanceof AbortedError) return reason;
  return new AbortedError('rendezvous aborted', { cause: reason });
}

/** Map a handshake or dial failure to a peer state and a detail line. */
export function failureState(error: unknown): { state: PeerStateKind; detail: string } {
  if (error instanceof DialError) return { state: error.state, detail: error.message };
  if (error instanceof HandshakeError) {
    switch (error.reason) {
      case 'auth':
        return { state: 'token-mismatch', detail: error.message };
      case 'version':
        return { state: 'version-mismatch', detail: error.message };
      case 'wrong-job':
      case 'wrong-index':
      case 'not-coordinator':
        return { state: 'wrong-identity', detail: error.message };
      // Shed by the peer's admission, or the connection dropped mid-handshake (a reset under load, a
      // restart): nothing is wrong with this pod or its configuration, it just tries again.
      case 'busy':
        return { state: 'busy', detail: error.message };
      case 'closed':
        return { state: 'busy', detail: `connection dropped during the handshake (${error.message})` };
      case 'timeout':
        return { state: 'busy', detail: 'connected, but no answer to the handshake in time' };
      default:
        return { state: 'protocol-error', detail: error.message };
    }
  }
  return { state: 'protocol-error', detail: error instanceof Error ? error.message : String(error) };
}
