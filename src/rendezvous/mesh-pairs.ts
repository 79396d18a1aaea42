// Mesh: one probe per pair of members (two datagrams, or a TCP connection as the fallback). The probe proves
// both ends with the token (the dialler first, then the acceptor), so the member that dials learns the other's
// identity from its answer (`accepted`), and the member that is dialled learns the dialler's from its open
// (`auth`) — neither needs a probe of its own.

/**
 * Which of two member indexes dials the other: the lower one when their sum is odd, the higher one when it is
 * even. Every pair has exactly one dialler, and each member dials about half of the others (within one), so
 * no member carries the connect side of the mesh for everybody.
 */
export function meshDialler(a: number, b: number): number {
  const low = Math.min(a, b);
  const high = Math.max(a, b);
  return (low + high) % 2 === 1 ? low : high;
}

/** Whether member `self` dials member `peer` for the mesh probe (else it waits for `peer`'s probe). */
export function dialsPeer(self: number, peer: number): boolean {
  return self !== peer && meshDialler(self, peer) === self;
}
