// The coordinator's discovery: a late coordinator finds its members through the headless Service (one question
// for all) or, with an explicit list or a Service that lists no pod, their own names (once an existence probe
// finds each), and announces itself to each address not joined yet.
// The same loop polls the Service for the evidence rule, and watches for the released-without-this-pod verdict.
import { ipFamily } from '../dns/ip-bytes.js';
import { type RefusalWatch, ReleasedWithoutThisPodError } from './after-release.js';
import type { AgentCore } from './agent-core.js';
import { backoffDelay, discoveryPoll, livePoll } from './backoff.js';
import type { Barrier } from './barrier.js';
import { MAX_MEMBER_FRAME } from './channel.js';
import { DialError, hostPort } from './failure.js';
import { announceTo } from './handshake.js';
import { sleep, type Waker } from './sleep.js';

/** An address is announced to at most once in this long. */
const ANNOUNCE_EVERY_MS = 2000;
/**
 * A missing member's own name is probed at most once in this long (DISCOVERY_POLL's cap): the rounds run at
 * livePoll's 10–50 ms while a name waits for evidence. 2 s was tried: a late coordinator behind a cache whose
 * Service's answer lists no pod then released 3.5 s after the last record instead of 0.4 s (N=64, unbound 30 s).
 */
const NAME_PROBE_EVERY_MS = 250;
/** Once every member joined and no name waits for evidence, the loop only watches, this slowly. */
const QUIET_MS = 1000;
/**
 * Members still missing this long after the last join or leave are looked for by their own names too, even
 * where the Service's answer lists pods: that answer may be a cache's from before they were published (plus a
 * restarted pod's old address), and a member whose cached view of the coordinator's name is stale (the old
 * address, perhaps a stranger's now) can only be reached by an announce. Measured (netns, unbound 30 s, N=4,
 * records present, coordinator restarted, a stranger on its old address, a member 3 s late, ip exports): median
 * release 27.4 s after the last record without this, 0.58 s with it.
 */
const BY_NAME_AFTER_MS = 2000;

export interface DiscoveryOptions {
  readonly barrier: Barrier;
  readonly waker: Waker;
  readonly refusals: RefusalWatch;
  /** When a member last joined or left: discovery polls fast right after a change, slower when all is quiet. */
  readonly lastChange: () => number;
  /** Names still waiting for evidence (the Service's answer is what gives it). */
  readonly awaitingEvidence: () => boolean;
  /** Every member agent refused long enough: the job was released without this pod. */
  readonly verdict: (error: ReleasedWithoutThisPodError) => void;
  /** The coordinator's role ended: stop at the next turn. */
  readonly stopped: () => boolean;
}

/** Run until the barrier released, the agent stopped or the deadline passed. */
export async function runDiscovery(core: AgentCore, o: DiscoveryOptions): Promise<void> {
  const { cfg } = core;
  const n = cfg.completions;
  const announced = new Map<string, number>();

  const announce = (address: string, countsForVerdict = true): void => {
    const last = announced.get(address);
    if (last !== undefined && core.now() - last < ANNOUNCE_EVERY_MS) return;
    for (const m of o.barrier.members()) if (m.address === address) return;
    announced.set(address, core.now());
    core
      .dial(address, cfg.port, MAX_MEMBER_FRAME)
      .then((ch) =>
        // A member's agent that takes the announce (hangs up without a word) is still waiting: no verdict.
        // Our own address (the Service lists it) rejects an announce and counts neither way.
        announceTo(ch, core.wire, core.now() + cfg.handshakeTimeoutMs).then((taken) => {
          if (taken) o.refusals.answered();
        }),
      )
      .catch((error: unknown) => {
        if (countsForVerdict && error instanceof DialError && error.state === 'connection-refused')
          o.refusals.refused(`every member agent (last: ${hostPort(address, cfg.port)})`);
      });
  };

  // A missing member found by its own name, asked only once a probe finds its record (the coordinator is the one
  // agent that probes a member's name). Where the probe cannot tell: asked anyway only with `blind`.
  const probedAt = new Map<string, number>();
  const findByName = async (name: string, blind: boolean): Promise<void> => {
    const last = probedAt.get(name);
    if (last !== undefined && core.now() - last < NAME_PROBE_EVERY_MS) return;
    probedAt.set(name, core.now());
    const v = await core.existence.check(name, core.signal).catch(() => 'unknown' as const);
    if (v === 'absent' && (!blind || core.existence.absentIsReliable)) return;
    if (v !== 'exists' && !blind) return;
    const lookup = await core.gate.addresses(name, core.signal).catch(() => undefined);
    for (const a of lookup?.addresses ?? []) announce(a);
  };
  const missingNames = (): string[] => {
    const names: string[] = [];
    for (let i = 1; i < n; i++) if (!o.barrier.member(i)) names.push(cfg.peers[i]!);
    return names;
  };

  let round = 0;
  while (!o.stopped() && !o.barrier.released && !core.signal.aborted && core.now() < cfg.deadline) {
    const allJoined = o.barrier.allJoined();
    if (cfg.serviceName !== undefined && (!allJoined || o.awaitingEvidence())) {
      const lookup = await core.service.ask();
      // A Service that lists more pods than the job has (other groups, other tasks under one Service) may hold
      // pods that refuse for their own reasons: then no refusal counts towards a verdict.
      const addresses = lookup?.addresses ?? [];
      if (!o.barrier.allJoined()) for (const a of addresses) announce(a, addresses.length <= n);
      // No pod in the Service's answer (its denial cached from before any was published, or a Service that
      // publishes only Ready pods), or members missing for BY_NAME_AFTER_MS: the members' own names, those a
      // probe finds.
      if (
        !o.barrier.allJoined() &&
        (addresses.length === 0 || core.now() - o.lastChange() >= BY_NAME_AFTER_MS)
      )
        await Promise.all(
          missingNames().map((name) => (ipFamily(name) !== 0 ? announce(name) : findByName(name, false))),
        );
    } else if (!allJoined) {
      // An explicit peer list has no Service to ask: each missing name, once a probe finds it, or as before where
      // the probe cannot tell (a cached denial is not asked again).
      await Promise.all(
        missingNames().map((name) => (ipFamily(name) !== 0 ? announce(name) : findByName(name, true))),
      );
    }
    if (o.barrier.joined > 0) o.refusals.answered();
    else if (o.refusals.expired()) {
      o.verdict(
        new ReleasedWithoutThisPodError({ index: 0, evidence: 'refused', detail: o.refusals.describe() }),
      );
      return;
    }
    round++;
    // A joined pod's record is imminent: evidence is polled as fast as its name used to be (livePoll).
    const waiting = o.awaitingEvidence();
    const quietFor = core.now() - o.lastChange();
    const policy = waiting ? livePoll(quietFor) : discoveryPoll(quietFor, cfg.serviceName === undefined);
    const pause = o.barrier.allJoined() && !waiting ? QUIET_MS : backoffDelay(policy, round, cfg.random);
    await sleep(pause, core.signal, o.waker, core.clock).catch(() => {});
  }
}
