// Mesh (`--verify mesh`): a member checks every other member the coordinator introduces — its name resolves to
// the address the coordinator saw, and its agent proves that index and incarnation with the token — and says
// `ready` at the latest epoch once all are checked. PeerChecks is the pure bookkeeping; probePeer the check.
import type { AgentCore } from './agent-core.js';
import { CONNECT_RETRY, livePoll } from './backoff.js';
import { MAX_MEMBER_FRAME } from './channel.js';
import { DialError, failureState, SESSION_ENDED } from './failure.js';
import { initiate } from './handshake.js';
import { resolveUntil } from './lookup.js';
import { retryUntil } from './retry.js';

/** Mesh checks one member runs at once. */
export const MESH_PROBE_CONCURRENCY = 4;

/** One introduced peer: where the coordinator saw it, and whether this member checked it. */
export interface PeerSlot {
  readonly index: number;
  readonly address: string;
  readonly incarnation: string;
  verified: boolean;
  readonly stop: AbortController;
}

/**
 * What a member knows of the others, and when it may say `ready`: in star mode at once (epoch 0); in mesh mode
 * once all other members are introduced and verified, at the highest epoch seen, once per epoch.
 */
export class PeerChecks {
  readonly #total: number;
  readonly #self: number;
  readonly #mesh: boolean;
  readonly #known = new Map<number, PeerSlot>();
  #maxEpoch = 0;
  #sentReady = -1;

  constructor(options: { total: number; self: number; mesh: boolean }) {
    this.#total = options.total;
    this.#self = options.self;
    this.#mesh = options.mesh;
  }

  /** A `peer` message: the slot to check (a previous slot of that index is stopped), or undefined if ignored. */
  introduce(m: { index: number; epoch: number; address: string; incarnation: string }): PeerSlot | undefined {
    if (!this.#mesh || m.index === this.#self || m.index <= 0 || m.index >= this.#total) return undefined;
    this.#maxEpoch = Math.max(this.#maxEpoch, m.epoch);
    this.#known.get(m.index)?.stop.abort(SESSION_ENDED);
    const slot: PeerSlot = {
      index: m.index,
      address: m.address,
      incarnation: m.incarnation,
      verified: false,
      stop: new AbortController(),
    };
    this.#known.set(m.index, slot);
    return slot;
  }

  /** Whether `slot` is still the one of its index (a re-introduction replaces it). */
  current(slot: PeerSlot): boolean {
    return this.#known.get(slot.index) === slot;
  }

  /** `slot` checked out; false when it was replaced meanwhile. */
  verified(slot: PeerSlot): boolean {
    if (!this.current(slot)) return false;
    slot.verified = true;
    return true;
  }

  /** The epoch to send `ready` at now, or undefined (not every peer checked, or already sent at this epoch). */
  takeReady(): number | undefined {
    if (this.#mesh) {
      if (this.#known.size < this.#total - 2) return undefined;
      for (const p of this.#known.values()) if (!p.verified) return undefined;
    }
    if (this.#sentReady === this.#maxEpoch) return undefined;
    this.#sentReady = this.#maxEpoch;
    return this.#maxEpoch;
  }

  /** Stop every check (the session ended). */
  stopAll(): void {
    for (const p of this.#known.values()) p.stop.abort(SESSION_ENDED);
  }
}

/** Check `slot`: its name (fqdn exports) resolves to its address, and its agent answers as that incarnation. */
export async function probePeer(core: AgentCore, slot: PeerSlot, signal: AbortSignal): Promise<boolean> {
  const { cfg } = core;
  const { index } = slot;
  const probeStart = core.now();
  if (core.checksName(index)) {
    const addrs = await resolveUntil(core.gate, core.fqdn(index), (a) => a.includes(slot.address), {
      policy: () => livePoll(core.now() - probeStart),
      deadline: cfg.deadline,
      signal,
      clock: core.clock,
      random: cfg.random,
      onMiss: (lookup) =>
        core.setState(
          index,
          lookup.addresses.length > 0 ? 'address-mismatch' : lookup.state,
          lookup.addresses.length > 0
            ? `resolves to ${lookup.addresses.join(', ')}, joined from ${slot.address}`
            : lookup.detail,
        ),
    });
    if (!addrs) return false;
  }
  const ok = await retryUntil(
    async () => {
      const channel = await core.dial(slot.address, cfg.port, MAX_MEMBER_FRAME);
      try {
        const welcome = await initiate(
          channel,
          core.wire,
          'probe',
          index,
          core.now() + cfg.handshakeTimeoutMs,
        );
        if (welcome.incarnation !== slot.incarnation) {
          throw new DialError(
            'wrong-identity',
            `${slot.address} answers as incarnation ${welcome.incarnation}, expected ${slot.incarnation}`,
          );
        }
        return true;
      } finally {
        channel.close({ kind: 'local', message: 'probe done' });
      }
    },
    {
      policy: CONNECT_RETRY,
      deadline: cfg.deadline,
      signal,
      clock: core.clock,
      random: cfg.random,
      retryable: () => true,
      onRetry: (error) => {
        const f = failureState(error);
        core.setState(index, f.state, f.detail);
        return undefined;
      },
    },
  ).catch(() => undefined);
  return ok === true;
}
