// Mesh (`--verify mesh`): a member checks every other member the coordinator introduces — its name resolves to
// the address the coordinator saw, and its agent proves that index and incarnation with the token — and says
// `ready` at the latest epoch once all are checked. One probe per pair (mesh-pairs.ts), over UDP (mesh-udp.ts)
// or, from a peer silent there, TCP: the member that dials checks the other's answer (`accepted` on TCP), the
// dialled one the dialler's open (`auth`) (InboundProbes). PeerChecks is the pure bookkeeping; checkPeer the
// check.
import type { AgentCore } from './agent-core.js';
import { CONNECT_RETRY, livePoll } from './backoff.js';
import { MAX_MEMBER_FRAME } from './channel.js';
import type { Clock } from './clock.js';
import { DialError, failureState, hostPort, SESSION_ENDED } from './failure.js';
import { initiate } from './handshake.js';
import type { Limiter } from './limiter.js';
import { describeCachedAnswer, resolveUntil } from './lookup.js';
import { dialsPeer } from './mesh-pairs.js';
import { UDP_NO_ANSWER_MS } from './mesh-udp.js';
import { retryUntil } from './retry.js';

/** Mesh probes (connections) one member runs at once. */
export const MESH_PROBE_CONCURRENCY = 4;

/** Mesh probes over UDP one member runs at once (datagram exchanges in flight). */
export const MESH_DATAGRAM_CONCURRENCY = 32;

/** Mesh name checks one member runs at once (its DNS questions in flight). */
export const MESH_NAME_CONCURRENCY = 16;

/**
 * A member that does not dial a peer (mesh-pairs.ts) waits this long after the peer was introduced for its
 * probe, then dials it itself: a dialler that is slow, or sees this member elsewhere, must not hold the barrier.
 */
export const INBOUND_PROBE_WAIT_MS = 5000;

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

/**
 * The probes other members made of this agent (their token proofs checked out in the handshake), by index:
 * the latest incarnation and address each proved, and the checks waiting for one.
 */
export class InboundProbes {
  readonly #seen = new Map<number, { incarnation: string; address: string }>();
  readonly #waiters = new Map<number, Set<() => void>>();

  /** Member `index` (incarnation, connecting from `address`) completed a probe of this agent. */
  record(index: number, incarnation: string, address: string): void {
    this.#seen.set(index, { incarnation, address });
    for (const w of [...(this.#waiters.get(index) ?? [])]) w();
  }

  /**
   * What the probes say of `slot`: `proved` (its incarnation probed from its address), `elsewhere` (its
   * incarnation probed from another address), or undefined (no probe of that incarnation yet).
   */
  verdict(slot: { index: number; incarnation: string; address: string }): 'proved' | 'elsewhere' | undefined {
    const got = this.#seen.get(slot.index);
    if (got?.incarnation !== slot.incarnation) return undefined;
    return got.address === slot.address ? 'proved' : 'elsewhere';
  }

  /** Resolves to the verdict once there is one, or to undefined at `until` or when `signal` aborts. */
  wait(
    slot: { index: number; incarnation: string; address: string },
    until: number,
    clock: Clock,
    signal: AbortSignal,
  ): Promise<'proved' | 'elsewhere' | undefined> {
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(slot.index) ?? new Set<() => void>();
      this.#waiters.set(slot.index, waiters);
      const finish = (v: 'proved' | 'elsewhere' | undefined): void => {
        clock.clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        waiters.delete(check);
        if (waiters.size === 0 && this.#waiters.get(slot.index) === waiters) this.#waiters.delete(slot.index);
        resolve(v);
      };
      const check = (): void => {
        const v = this.verdict(slot);
        if (v !== undefined) finish(v);
      };
      const abort = (): void => finish(undefined);
      const timer = clock.setTimeout(abort, Math.max(0, until - clock.now()));
      waiters.add(check);
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
      check();
    });
  }
}

/** What checkPeer shares between the checks of one member: its limits and the probes it received. */
export interface MeshContext {
  /** Connections (probes this member dials). */
  readonly probes: Limiter;
  /** Name checks (DNS questions). */
  readonly names: Limiter;
  readonly inbound: InboundProbes;
  /** UDP probe exchanges (mesh-udp.ts) this member runs at once. */
  readonly datagrams: Limiter;
  /** A peer did not answer over UDP (told once per peer check that falls back to TCP). */
  readonly udpSilent: (slot: PeerSlot) => void;
}

/**
 * Check `slot`: its name (fqdn exports) resolves to its address, and its agent proved that index and
 * incarnation with the token in a handshake with this member — on this member's probe of it, or, when the
 * peer is the one to dial (mesh-pairs.ts), on its probe of this member. A probe that does not come within
 * INBOUND_PROBE_WAIT_MS, or comes from another address, is made by this member instead.
 */
export async function checkPeer(
  core: AgentCore,
  slot: PeerSlot,
  signal: AbortSignal,
  ctx: MeshContext,
): Promise<boolean> {
  const introducedAt = core.now();
  if (core.checksName(slot.index)) {
    const ok = await ctx.names.run(() =>
      signal.aborted ? Promise.resolve(false) : checkName(core, slot, signal, introducedAt),
    );
    if (!ok) return false;
  }
  if (!dialsPeer(core.cfg.index, slot.index)) {
    if (ctx.inbound.verdict(slot) === undefined)
      core.setState(slot.index, 'unknown', `joined from ${slot.address}; waiting for its probe of this pod`);
    const v = await ctx.inbound.wait(slot, introducedAt + INBOUND_PROBE_WAIT_MS, core.clock, signal);
    if (v === 'proved') return true;
    if (signal.aborted) return false;
  }
  const socket = core.probeSocket;
  if (socket) {
    const v = await ctx.datagrams.run(() =>
      signal.aborted
        ? Promise.resolve({ kind: 'aborted' } as const)
        : socket.probe(slot.address, slot.index, slot.incarnation, signal),
    );
    if (v.kind === 'proved') return true;
    if (v.kind === 'aborted') return false;
    if (v.kind === 'wrong-identity') core.setState(slot.index, 'wrong-identity', v.detail);
    else {
      core.setState(
        slot.index,
        'unknown',
        `no answer over UDP from ${hostPort(slot.address, core.cfg.port)} in ${UDP_NO_ANSWER_MS / 1000} s; probing it over TCP`,
      );
      ctx.udpSilent(slot);
    }
  }
  return ctx.probes.run(() => (signal.aborted ? Promise.resolve(false) : probePeer(core, slot, signal)));
}

/** `slot`'s name resolves to the address the coordinator saw (polled as a live name). */
async function checkName(
  core: AgentCore,
  slot: PeerSlot,
  signal: AbortSignal,
  since: number,
): Promise<boolean> {
  const { cfg } = core;
  const { index } = slot;
  const addrs = await resolveUntil(core.gate, core.fqdn(index), (a) => a.includes(slot.address), {
    policy: () => livePoll(core.now() - since),
    deadline: cfg.deadline,
    signal,
    clock: core.clock,
    random: cfg.random,
    onMiss: (lookup, held) =>
      core.setState(
        index,
        lookup.addresses.length > 0 ? 'address-mismatch' : lookup.state,
        lookup.addresses.length > 0
          ? `resolves to ${lookup.addresses.join(', ')}, joined from ${slot.address}${describeCachedAnswer(held)}`
          : lookup.detail,
      ),
  });
  return addrs !== undefined;
}

/** Dial `slot`: its agent must answer the probe as that index with that incarnation. */
export async function probePeer(core: AgentCore, slot: PeerSlot, signal: AbortSignal): Promise<boolean> {
  const { cfg } = core;
  const { index } = slot;
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
        // Nothing more to read: the socket is freed at once, no wake-up for the other end's hang-up.
        channel.close({ kind: 'local', message: 'probe done' }, true);
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
