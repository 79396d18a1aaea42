// The coordinator (index 0): takes joins, checks each member's name once there is evidence its record exists,
// feeds the barrier state machine (barrier.ts) and carries out what it decides: mesh introductions, status
// lines, the release and its acks.
import { ipFamily } from '../dns/ip-bytes.js';
import { randomBytes } from '../random.js';
import { RefusalWatch } from './after-release.js';
import type { AgentCore } from './agent-core.js';
import { livePoll } from './backoff.js';
import { Barrier, type Introduction, type Member } from './barrier.js';
import type { Channel } from './channel.js';
import { every, type TimerHandle } from './clock.js';
import { runDiscovery } from './discovery.js';
import { RECORD_GRACE_MS, recordEvidence } from './evidence.js';
import { errorText, SESSION_ENDED } from './failure.js';
import { encodeFrame, ProtocolError } from './frames.js';
import { describeCachedAnswer, resolveUntil } from './lookup.js';
import { type Hello, PROTOCOL_VERSION, type Release, releaseProblem } from './messages.js';
import type { PeerReport } from './peer-state.js';
import { deadlineReached } from './report.js';
import { sleep, Waker } from './sleep.js';
import type { Mesh } from './types.js';

/** The member's connection, and what stops the work done for that session. */
interface Link {
  readonly channel: Channel;
  readonly stop: AbortController;
}

/** Members learn who is missing this often (and the progress line says how many are ready). */
const STATUS_EVERY_MS = 1000;
/** A status message lists at most this many missing members. */
const STATUS_MISSING_MAX = 50;
/** Mesh: names checked out within this long of each other are introduced to the members in one round. */
const PEER_RELAY_MS = 20;

export async function runCoordinator(core: AgentCore): Promise<Mesh> {
  const { cfg } = core;
  const n = cfg.completions;
  const mesh = cfg.verify.kind === 'mesh';
  // fqdn exports name the coordinator too: its own name must resolve to the address members reach it at.
  const barrier = new Barrier({ total: n, mesh, ownNameOk: !core.checksName(0) });
  const links = new Map<Member, Link>();
  const discoveryWaker = new Waker();
  let lastChange = core.now();
  let changed = true;
  // Records exist before their pods connect (a member's address was in the Service's answer when it joined):
  // a joined member's name can be asked after a moment.
  let recordsLead = false;
  let ownCheckStarted = false;
  // The role ended (released, timed out, aborted): the discovery loop stops at its next turn.
  let stopped = false;
  let resolveDone!: (m: Mesh) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<Mesh>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // A restarted coordinator whose members' agents all refuse: they were released and run the workload.
  const refusals = new RefusalWatch(cfg.releasedAfterMs, () => core.now());
  let rejectVerdict!: (e: Error) => void;
  const verdict = new Promise<never>((_, reject) => {
    rejectVerdict = reject;
  });
  let releaseInfo: { generation: string; at: number; finish: () => void } | undefined;
  let releaseFinished = false;
  let graceTimer: TimerHandle | undefined;
  for (let i = 1; i < n; i++) core.setState(i, 'unknown');

  // Mesh: names that check out within PEER_RELAY_MS of each other are introduced in one round (one epoch),
  // each member's `peer` messages of the round in one write: while the job's pods come up, a member is woken
  // once a round instead of once a name, and answers one epoch instead of each.
  let introTimer: TimerHandle | undefined;
  const scheduleIntroductions = (): void => {
    if (introTimer !== undefined || !barrier.introductionsPending) return;
    introTimer = core.clock.setTimeout(() => {
      introTimer = undefined;
      introduce(barrier.introduce());
      maybeRelease();
    }, PEER_RELAY_MS);
  };
  const introduce = (intros: readonly Introduction[]): void => {
    const byMember = new Map<Member, Introduction[]>();
    for (const x of intros) {
      const list = byMember.get(x.to);
      if (list) list.push(x);
      else byMember.set(x.to, [x]);
    }
    for (const [to, list] of byMember) {
      const channel = links.get(to)?.channel;
      if (!channel) continue;
      channel.socket.cork();
      for (const { epoch, peer } of list) {
        channel.send({
          v: PROTOCOL_VERSION,
          type: 'peer',
          epoch,
          index: peer.index,
          address: peer.address,
          incarnation: peer.incarnation,
        });
      }
      channel.socket.uncork();
    }
  };

  const endRelease = (outcome: Mesh | Error): void => {
    if (releaseFinished) return;
    releaseFinished = true;
    if (graceTimer !== undefined) core.clock.clearTimeout(graceTimer);
    if (outcome instanceof Error) rejectDone(outcome);
    else resolveDone(outcome);
  };

  const maybeRelease = (): void => {
    changed = true;
    // After the role ended (a timeout, an abort) nothing may be released, even in the moment before shutdown.
    if (stopped || barrier.released || !barrier.releasable()) return;
    const first = barrier.members().next().value as Member | undefined;
    const own =
      ipFamily(cfg.peers[0]!) !== 0
        ? cfg.peers[0]!
        : ((first && links.get(first)?.channel.localAddress) ?? core.selfAddress);
    const plan = barrier.release(own ? [own] : [], core.now());
    if (!plan) return;
    core.readyAt = core.now();
    const generation = randomBytes(8).toString('hex');
    const release: Release = {
      v: PROTOCOL_VERSION,
      type: 'release',
      generation,
      addresses: plan.addresses.map((a) => [...a]),
    };
    // Members check the release with the same function: never send one they would refuse.
    const problem = releaseProblem(release, n);
    if (problem) {
      endRelease(new ProtocolError(`cannot release: ${problem}`));
      return;
    }
    const roster = core.roster(plan.addresses);
    const finish = (): void => endRelease(core.mesh(roster, generation));
    releaseInfo = { generation, at: plan.at, finish };
    // One encoding for every member: the frame grows with N.
    const frame = encodeFrame(release);
    for (const m of barrier.members()) links.get(m)?.channel.sendFrame(frame);
    // Return after every member acked (or closed), or after the grace period.
    graceTimer = core.clock.setTimeout(finish, cfg.releaseGraceMs);
    if (barrier.allSettled()) finish();
  };

  // Ask `name` until it resolves to `address`, once there is evidence its record exists.
  const checkName = async (
    index: number,
    name: string,
    address: string | undefined,
    since: () => number,
    signal: AbortSignal,
    accept: (addresses: readonly string[]) => boolean,
    waiting: (why: string) => void,
    onMismatch: (addresses: readonly string[]) => string,
  ): Promise<readonly string[] | undefined> => {
    await recordEvidence(core, {
      name,
      address,
      since,
      signal,
      recordsLead: () => recordsLead,
      waiting: (why) => {
        waiting(why);
        discoveryWaker.wake();
      },
    });
    const askedAt = core.now();
    return resolveUntil(core.gate, name, accept, {
      policy: () => livePoll(core.now() - askedAt),
      deadline: cfg.deadline,
      signal,
      clock: core.clock,
      random: cfg.random,
      onMiss: (lookup, held) => {
        if (lookup.addresses.length > 0)
          core.setState(
            index,
            'address-mismatch',
            `${onMismatch(lookup.addresses)}${describeCachedAnswer(held)}`,
          );
        else core.setState(index, lookup.state, lookup.detail);
      },
    });
  };

  const onJoin = (channel: Channel, hello: Hello): void => {
    const i = hello.index;
    if (stopped) {
      channel.close({ kind: 'local', message: 'agent finished' });
      return;
    }
    const outcome = barrier.join(i, hello.incarnation, channel.remoteAddress, core.now());
    if (outcome.kind === 'refused') {
      channel.close({
        kind: 'local',
        message: outcome.reason === 'released' ? 'already released' : 'bad index',
      });
      return;
    }
    const { member: m, replaced } = outcome;
    if (replaced) {
      const old = links.get(replaced);
      links.delete(replaced);
      old?.stop.abort(SESSION_ENDED);
      old?.channel.close({ kind: 'local', message: `replaced by incarnation ${hello.incarnation}` });
    }
    const link: Link = { channel, stop: new AbortController() };
    links.set(m, link);
    lastChange = core.now();
    core.setState(i, 'connected', `from ${m.address}`);
    changed = true;
    channel.onMessage((msg) => {
      if (msg.type === 'ready') {
        const now = core.now();
        if (msg.alive !== undefined && now - msg.alive < m.aliveSince) {
          m.aliveSince = Math.max(now - msg.alive, now - RECORD_GRACE_MS);
          core.service.poke();
        }
        barrier.ready(m, msg.epoch);
        if (barrier.current(m) && barrier.isReady(m)) core.setState(i, 'ready', `from ${m.address}`);
        maybeRelease();
      } else if (msg.type === 'ack') {
        if (barrier.released && barrier.settle(m)) releaseInfo?.finish();
      } else if (msg.type === 'reject' && barrier.released) {
        // A member that refuses the release says why: then nobody may start, this agent included.
        endRelease(new ProtocolError(`member ${i} rejected the release: ${msg.reason}`));
      }
    });
    channel.onClose(() => {
      link.stop.abort(SESSION_ENDED);
      if (barrier.leave(m)) {
        links.delete(m);
        lastChange = core.now();
        core.setState(i, 'disconnected', `${m.address} left before release`);
        changed = true;
        discoveryWaker.wake();
      } else if (barrier.allSettled()) releaseInfo?.finish();
    });
    core.selfAddress ??= channel.localAddress;
    if (core.service.publishes(m.address)) recordsLead = true;
    discoveryWaker.wake();
    startOwnCheck();
    // Star check: the member's name must resolve to the address it connected from, asked once there is
    // evidence its record exists (never before: a cached denial would outlast the wait).
    const name = cfg.peers[i]!;
    if (!core.checksName(i)) {
      if (ipFamily(name) === 0 || name === m.address) {
        barrier.nameChecked(m, []);
        scheduleIntroductions();
      } else core.setState(i, 'address-mismatch', `listed as ${name}, connected from ${m.address}`);
      maybeRelease();
      return;
    }
    const signal = AbortSignal.any([core.signal, link.stop.signal]);
    checkName(
      i,
      name,
      m.address,
      () => m.aliveSince,
      signal,
      (addrs) => addrs.includes(m.address),
      (why) => core.setState(i, 'connected', `from ${m.address}; ${why}`),
      (addrs) => `resolves to ${addrs.join(', ')}, connected from ${m.address}`,
    ).then(
      (addrs) => {
        if (!addrs || !barrier.current(m)) return;
        barrier.nameChecked(m, addrs);
        core.setState(
          i,
          barrier.isReady(m) ? 'ready' : mesh ? 'checking-peers' : 'connected',
          `from ${m.address}`,
        );
        scheduleIntroductions();
        maybeRelease();
      },
      (error: unknown) => {
        if (signal.aborted || !barrier.current(m)) return;
        core.setState(i, 'internal-error', `checking its name failed: ${errorText(error)}`);
      },
    );
  };

  const startOwnCheck = (): void => {
    if (barrier.ownNameOk || ownCheckStarted) return;
    ownCheckStarted = true;
    checkName(
      0,
      cfg.peers[0]!,
      core.selfAddress,
      () => core.startedAt,
      core.signal,
      (addrs) => core.selfAddress === undefined || addrs.includes(core.selfAddress),
      (why) => core.setState(0, 'unknown', `this pod; ${why}`),
      (addrs) => `this pod's name resolves to ${addrs.join(', ')}, members reach it at ${core.selfAddress}`,
    ).then(
      (addrs) => {
        if (!addrs) return;
        barrier.ownNameChecked();
        core.setState(0, 'ready', `this pod, at ${core.selfAddress ?? addrs.join(', ')}`);
        maybeRelease();
      },
      (error: unknown) => {
        if (!core.signal.aborted)
          core.setState(0, 'internal-error', `checking this pod's name failed: ${errorText(error)}`);
      },
    );
  };

  await core.listen((hello) => {
    // A join during the grace window after release: tell the late pod what it missed.
    if (releaseInfo && hello.purpose === 'join')
      return {
        code: 'released',
        reason: `the job was released at ${new Date(releaseInfo.at).toISOString()} (generation ${releaseInfo.generation})`,
        generation: releaseInfo.generation,
        releasedAt: releaseInfo.at,
      };
    if (hello.purpose !== 'join')
      return { code: 'not-coordinator', reason: `index 0 takes joins, not ${hello.purpose}` };
    if (hello.index < 1 || hello.index >= n)
      return { code: 'wrong-index', reason: `index ${hello.index} is not a member of ${n}` };
    return undefined;
  }, onJoin);

  const discovery = runDiscovery(core, {
    barrier,
    waker: discoveryWaker,
    refusals,
    lastChange: () => lastChange,
    awaitingEvidence: () =>
      (!barrier.ownNameOk && ownCheckStarted) ||
      [...barrier.members()].some((m) => !m.nameOk && core.checksName(m.index)),
    verdict: rejectVerdict,
    stopped: () => stopped,
  });

  // Members learn who is missing, for their own progress lines and timeout reports.
  const stopStatus = every(core.clock, STATUS_EVERY_MS, () => {
    if (!changed || barrier.released) return;
    changed = false;
    const missing = barrier
      .missing(STATUS_MISSING_MAX)
      .map((index) => ({ index, state: core.states.get(index)?.state ?? 'unknown' }));
    // The coordinator counts itself as ready (its own name's check shows in its own progress lines).
    const ready = barrier.readyMembers() + 1;
    const status = { v: PROTOCOL_VERSION, type: 'status' as const, ready, total: n, missing };
    for (const m of barrier.members()) links.get(m)?.channel.send(status);
    cfg.onProgress?.({ type: 'status', ready: status.ready, total: n });
  });

  const unfinished = (): PeerReport[] => {
    const out: PeerReport[] = [];
    const own = core.states.get(0);
    if (!barrier.ownNameOk && own) out.push(own);
    for (const i of barrier.missing()) {
      out.push(
        core.states.get(i) ?? {
          index: i,
          fqdn: cfg.peers[i]!,
          state: 'unknown',
          detail: '',
          since: core.startedAt,
          seenBy: 'self',
        },
      );
    }
    return out;
  };
  const deadline = deadlineReached(core, unfinished);
  try {
    if (n === 1) maybeRelease();
    return await Promise.race([done, verdict, deadline.promise, core.aborted()]);
  } finally {
    deadline.cancel();
    stopStatus();
    if (introTimer !== undefined) core.clock.clearTimeout(introTimer);
    stopped = true;
    discoveryWaker.wake();
    for (const link of links.values()) link.stop.abort(SESSION_ENDED);
    // discovery ends at the next turn of its loop; it is never waited for longer than a tick.
    await Promise.race([discovery, sleep(0)]);
  }
}
