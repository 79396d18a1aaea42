// A member (index > 0): finds the coordinator (an announce's source, its IP literal, or its name once there is
// evidence its record exists), joins it, checks its peers in mesh mode (mesh-probe.ts), says ready, and takes
// the release. A lost coordinator is looked for again; refusals long enough are the released-without-this-pod
// verdict.
import { ipFamily } from '../dns/ip-bytes.js';
import { RefusalWatch, ReleasedWithoutThisPodError } from './after-release.js';
import type { AgentCore } from './agent-core.js';
import { BLIND_POLL, CONNECT_RETRY, livePoll } from './backoff.js';
import { type Channel, MAX_MEMBER_FRAME, maxReleaseFrame } from './channel.js';
import {
  probeFoundText,
  probeText,
  RECORD_GRACE_MS,
  serviceEvidence,
  UNCONFIRMED_HOLD_MS,
} from './evidence.js';
import { sharedProbePoll } from './existence.js';
import { errorText, failureState, hostPort, SESSION_ENDED } from './failure.js';
import { ProtocolError } from './frames.js';
import { HandshakeError, initiate } from './handshake.js';
import { Limiter } from './limiter.js';
import { resolveUntil } from './lookup.js';
import {
  checkPeer,
  InboundProbes,
  MESH_DATAGRAM_CONCURRENCY,
  MESH_NAME_CONCURRENCY,
  MESH_PROBE_CONCURRENCY,
  type MeshContext,
  PeerChecks,
} from './mesh-probe.js';
import { ProbeSocket } from './mesh-udp.js';
import { PROTOCOL_VERSION, releaseProblem } from './messages.js';
import type { PeerReport, PeerStateKind } from './peer-state.js';
import { deadlineReached } from './report.js';
import { NotYet, retryUntil } from './retry.js';
import { Waker } from './sleep.js';
import type { Mesh } from './types.js';

/** After an announce or a lost coordinator, the coordinator's name is polled as a live one this long. */
const LIVE_WINDOW_MS = 10_000;

/** Other members a member dials before concluding the job was released without it. */
const OTHER_MEMBER_CHECKS = 4;

/** The deadline passed while looking for the coordinator's address: the deadline's report follows. */
class NoAddressYet extends Error {}

export async function runMember(core: AgentCore): Promise<Mesh> {
  const { cfg } = core;
  const n = cfg.completions;
  const mesh = cfg.verify.kind === 'mesh';
  const coordinatorName = cfg.peers[0]!;
  const waker = new Waker();
  // Mesh: checks of the other members run a few at a time (sockets and DNS questions stay bounded).
  // The probes other members make of this one are its checks of them too (one connection per pair).
  let udpSilentSaid = false;
  const meshCtx: MeshContext = {
    probes: new Limiter(MESH_PROBE_CONCURRENCY),
    names: new Limiter(MESH_NAME_CONCURRENCY),
    inbound: new InboundProbes(),
    datagrams: new Limiter(MESH_DATAGRAM_CONCURRENCY),
    udpSilent: (slot) => {
      if (udpSilentSaid) return;
      udpSilentSaid = true;
      cfg.onProgress?.({
        type: 'warning',
        message: `index ${slot.index} at ${hostPort(slot.address, cfg.port)} does not answer mesh probes over UDP: probing over TCP, slower (does a NetworkPolicy allow only TCP on port ${cfg.port}? allow UDP on it too); said once`,
      });
    },
  };
  // Where an announce came from: dialled first (once), so no DNS question is needed for the coordinator.
  let hint: string | undefined;
  let liveUntil = 0;
  // An announce ends a DNS wait for the coordinator: its source address is dialled instead.
  let announced = new AbortController();
  // The coordinator's name resolved once: its record exists, asking it again poisons nothing.
  let coordinatorRecordSeen = false;
  // The coordinator's addresses dialled last (not another member's, for the liveness check before a verdict).
  let coordinatorDialled: readonly string[] = [];
  let coordinatorView: { index: number; state: string }[] = [];
  const refusals = new RefusalWatch(cfg.releasedAfterMs, () => core.now());
  core.setState(0, 'unknown');

  await core.listen(
    (hello) => {
      if (hello.purpose === 'join')
        return { code: 'not-coordinator', reason: `index ${cfg.index} is not the coordinator` };
      if (hello.purpose === 'announce' && hello.index !== 0)
        return { code: 'wrong-index', reason: 'only index 0 announces' };
      if (hello.purpose === 'probe' && (!mesh || hello.index === 0 || hello.index >= n)) {
        return { code: 'wrong-index', reason: `probe from index ${hello.index} not expected` };
      }
      return undefined;
    },
    (channel, hello) => {
      // Nothing more to read or say: the socket is freed once our last bytes (a probe's `accepted`) are with
      // the kernel, so the dialler's hang-up does not wake this process again.
      channel.close({ kind: 'local', message: 'done' }, true);
      if (hello.purpose === 'probe')
        meshCtx.inbound.record(hello.index, hello.incarnation, channel.remoteAddress);
      if (hello.purpose === 'announce') {
        // A coordinator says it is up at this address (the announce itself is unauthenticated: the join's
        // handshake is what proves index 0 of this job there). Dialled first, so no DNS question is needed.
        hint = channel.remoteAddress;
        core.selfAddress ??= channel.localAddress;
        liveUntil = core.now() + LIVE_WINDOW_MS;
        announced.abort(SESSION_ENDED);
        waker.wake();
      }
    },
  );

  if (mesh) {
    // The mesh's probes go over UDP on the same port (one round trip a pair, no connection);
    // without it, over TCP as before (mesh-udp.ts).
    const socket = await ProbeSocket.open({
      wire: core.wire,
      port: cfg.port,
      listen: cfg.listen,
      clock: core.clock,
      admits: (index) => index > 0 && index < n && index !== cfg.index,
      onProved: (index, incarnation, address) => meshCtx.inbound.record(index, incarnation, address),
    });
    if (typeof socket === 'string')
      cfg.onProgress?.({ type: 'warning', message: `mesh probes go over TCP only: ${socket}` });
    else core.probeSocket = socket;
  }

  const unfinished = (): PeerReport[] => {
    const out: PeerReport[] = [];
    const coord = core.states.get(0);
    if (coord && coord.state !== 'ready') out.push(coord);
    for (const [index, report] of core.states) if (index !== 0 && report.state !== 'ready') out.push(report);
    for (const m of coordinatorView) {
      if (m.index === cfg.index || core.states.has(m.index)) continue;
      out.push({
        index: m.index,
        fqdn: cfg.peers[m.index] ?? '?',
        state: m.state as PeerStateKind,
        detail: '',
        since: core.startedAt,
        seenBy: 'coordinator',
      });
    }
    return out.sort((a, b) => a.index - b.index);
  };
  const deadline = deadlineReached(core, unfinished);

  // A release this member cannot use ends the wait at once, with the reason.
  let refused!: (e: Error) => void;
  const refusal = new Promise<never>((_, reject) => {
    refused = reject;
  });

  // Before the first question for the coordinator's name: an existence probe finds its record, the Service's
  // answer holds some other pod (the job's records are being published) and the probe does not find the
  // record absent (a coordinator scheduled after the others has none yet), or RECORD_GRACE_MS passed since
  // this agent started (not while a reliable probe finds the record absent).
  const coordinatorEvidence = (signal: AbortSignal): Promise<void> => {
    let said = false;
    return serviceEvidence(core, {
      enough: (addresses) => addresses.some((a) => a !== core.selfAddress),
      signal,
      probe: coordinatorName,
      // Every member probes this one name: spaced so the job's probes do not use up the private types.
      probePolicy: sharedProbePoll(n - 1),
      onExists: () => core.setState(0, 'unknown', probeFoundText()),
      onAbsent: () => {
        said = true;
        core.setState(
          0,
          'unknown',
          `its record does not exist yet (${probeText(coordinatorName)}); asked again shortly`,
        );
      },
      onHeld: () => {
        said = true;
        core.setState(
          0,
          'unknown',
          `its record does not exist yet (${probeText(coordinatorName)}); not asked until this DNS server is seen to answer such a question for a name that exists (this pod's own, not published yet), at most ${(RECORD_GRACE_MS + UNCONFIRMED_HOLD_MS) / 1000} s after this pod started`,
        );
      },
      dateDenial: true,
      onDated: (age) =>
        core.setState(
          0,
          'unknown',
          `its name is asked now: the cache's denial of the Service's name is ≥ ${Math.round(age / 1000)} s old, older than this pod (a pod asked it then; the ${RECORD_GRACE_MS / 1000} s grace counts from there)`,
        ),
      onAnswer: (lookup) => {
        // The DNS failing (not denying) is what the user must see, not "not seen yet".
        if (
          lookup &&
          lookup.addresses.length === 0 &&
          !lookup.denial &&
          lookup.state !== 'nxdomain' &&
          lookup.state !== 'nodata'
        ) {
          core.setState(0, lookup.state, lookup.detail);
          said = true;
        }
        if (!said) {
          said = true;
          core.setState(
            0,
            'unknown',
            `its name is asked once it is seen to exist or the Service's answer holds another pod (at most ${RECORD_GRACE_MS / 1000} s)`,
          );
        }
      },
    });
  };

  // Where to dial the coordinator: the address an announce came from (no DNS needed: the handshake proves
  // index 0), its IP literal, or its name — first asked once there is evidence its record exists.
  const coordinatorAddresses = async (): Promise<readonly string[] | undefined> => {
    if (hint) return [hint];
    if (ipFamily(coordinatorName) !== 0) return [coordinatorName];
    if (announced.signal.aborted) announced = new AbortController();
    const attempt = AbortSignal.any([core.signal, announced.signal]);
    try {
      if (!coordinatorRecordSeen) await coordinatorEvidence(attempt);
      const addrs = await resolveUntil(core.gate, coordinatorName, (a) => a.length > 0, {
        policy: () =>
          core.now() < liveUntil ? livePoll(core.now() - (liveUntil - LIVE_WINDOW_MS)) : BLIND_POLL,
        deadline: cfg.deadline,
        signal: attempt,
        waker,
        clock: core.clock,
        random: cfg.random,
        onMiss: (lookup) => {
          core.setState(0, lookup.state, lookup.detail);
          // The verdict needs the name resolving the whole time: a denial restarts its clock.
          refusals.answered();
        },
      });
      if (addrs) coordinatorRecordSeen = true;
      return addrs;
    } catch (error) {
      if (!core.signal.aborted && announced.signal.aborted && hint) return [hint];
      throw error;
    }
  };

  // Before a refused-coordinator verdict: an agent that still listens on another member means the barrier is
  // not over (pod 0 may only be slow to start). A few members are asked, once per verdict; a connection that
  // opens restarts the clock.
  const otherMemberWaiting = async (): Promise<boolean> => {
    let candidates: string[][];
    if (cfg.serviceName !== undefined) {
      // The Service's answer is the evidence of which records exist: its addresses are dialled, no pod's name
      // is asked (a denial would be cached for every pod).
      const lookup = await core.service.ask();
      candidates = (lookup?.addresses ?? [])
        .filter((a) => a !== core.selfAddress && !coordinatorDialled.includes(a))
        .slice(0, OTHER_MEMBER_CHECKS)
        .map((a) => [a]);
    } else {
      const others = [...Array(n).keys()]
        .filter((i) => i !== 0 && i !== cfg.index)
        .slice(0, OTHER_MEMBER_CHECKS);
      candidates = await Promise.all(
        others.map(async (i) => {
          const name = cfg.peers[i]!;
          if (ipFamily(name) !== 0) return [name];
          const lookup = await core.gate.addresses(name, core.signal).catch(() => undefined);
          return (lookup?.addresses ?? []).slice(0, 2);
        }),
      );
    }
    const listens = async (addresses: readonly string[]): Promise<boolean> => {
      for (const a of addresses) {
        try {
          (await core.dial(a, cfg.port, MAX_MEMBER_FRAME)).close({
            kind: 'local',
            message: 'liveness check',
          });
          return true;
        } catch {
          // Refused or unreachable: not a waiting agent.
        }
      }
      return false;
    };
    const answers = await Promise.all(candidates.map(listens));
    if (!answers.some(Boolean)) return false;
    refusals.answered();
    return true;
  };

  // One attempt to join: dial the coordinator's addresses in order, handshake; NotYet when none took it.
  const joinAttempt = async (): Promise<Channel> => {
    const addrs = await coordinatorAddresses();
    if (!addrs) throw new NoAddressYet();
    coordinatorDialled = addrs;
    const tried = hint;
    // A hint is used once: if it fails, the coordinator may have moved, and its name decides.
    hint = undefined;
    const ordered =
      tried && addrs.includes(tried) ? [tried, ...addrs.filter((a) => a !== tried)] : [...addrs];
    let lastFailure: { state: PeerStateKind; detail: string } | undefined;
    let allRefused = true;
    // An announce from another address ends the dial or handshake in progress (a stale record's address may
    // hold a stranger that accepts and never answers, or nothing at all): the announcer is dialled next.
    if (announced.signal.aborted) announced = new AbortController();
    const interrupt = announced.signal;
    for (let k = 0; k < ordered.length; k++) {
      const address = ordered[k]!;
      const elsewhere = (): boolean => hint !== undefined && hint !== address;
      const supersede = (): void => {
        if (hint === undefined || !elsewhere()) return;
        if (!ordered.slice(k + 1).includes(hint)) ordered.splice(k + 1, 0, hint);
        hint = undefined;
      };
      try {
        const channel = await untilAnnounced(
          core.dial(address, cfg.port, maxReleaseFrame(n)),
          interrupt,
          elsewhere,
          undefined,
          (late) => late.close({ kind: 'local', message: 'superseded by an announce' }, true),
        );
        channel.setMaxQueued(2 * n + 64);
        await untilAnnounced(
          initiate(channel, core.wire, 'join', 0, core.now() + cfg.handshakeTimeoutMs),
          interrupt,
          elsewhere,
          () => channel.close({ kind: 'local', message: 'an announce came from another address' }, true),
        );
        core.setState(0, 'connected', `at ${channel.remoteAddress}`);
        core.selfAddress ??= channel.localAddress;
        cfg.onProgress?.({ type: 'joined', coordinator: channel.remoteAddress });
        return channel;
      } catch (error) {
        if (error instanceof HandshakeError && error.reason === 'released') {
          throw new ReleasedWithoutThisPodError({
            index: cfg.index,
            evidence: 'released-reject',
            generation: error.released?.generation,
            releasedAt: error.released?.releasedAt,
          });
        }
        if (error instanceof Superseded || elsewhere()) {
          // Not this address's verdict: it was cut short (or failed) while the coordinator announced itself
          // from another one, which is dialled next.
          supersede();
          allRefused = false;
          continue;
        }
        lastFailure = failureState(error);
        if (lastFailure.state !== 'connection-refused') allRefused = false;
      }
    }
    if (lastFailure) core.setState(0, lastFailure.state, lastFailure.detail);
    // Only the announce's source was dialled (anyone can send an announce): that says nothing about the
    // coordinator's name, so it counts neither way for the released-without-this-pod verdict.
    const onlyHint = tried !== undefined && ordered.length === 1;
    if (!onlyHint) {
      if (allRefused)
        refusals.refused(`the coordinator's agent at ${addrs.map((a) => hostPort(a, cfg.port)).join(', ')}`);
      else refusals.answered();
    }
    if (refusals.expired() && !(await otherMemberWaiting())) {
      throw new ReleasedWithoutThisPodError({
        index: cfg.index,
        evidence: 'refused',
        detail: refusals.describe(),
      });
    }
    throw new NotYet('coordinator not joined');
  };

  // Resolve the coordinator and join it, retrying until a handshake succeeds; at the deadline, never resolves
  // (the deadline's report rejects the race instead).
  const findCoordinator = async (): Promise<Channel> => {
    const channel = await retryUntil(joinAttempt, {
      policy: CONNECT_RETRY,
      deadline: cfg.deadline,
      signal: core.signal,
      clock: core.clock,
      random: cfg.random,
      waker,
    }).catch((error: unknown) => {
      if (error instanceof NoAddressYet) return undefined;
      throw error;
    });
    return channel ?? new Promise<never>(() => {});
  };

  // One joined session: report ready (after mesh checks), wait for release. Undefined when it ends early.
  const memberSession = (channel: Channel): Promise<Mesh | undefined> =>
    new Promise((resolve) => {
      const stop = new AbortController();
      const checks = new PeerChecks({ total: n, self: cfg.index, mesh });
      // Each check runs under its slot's own signal (a plain one: a composite per peer costs its every check
      // and listener), which the end of the session or of the agent aborts through these two listeners.
      const endSession = (): void => stop.abort(SESSION_ENDED);
      core.signal.addEventListener('abort', endSession, { once: true });
      stop.signal.addEventListener(
        'abort',
        () => {
          core.signal.removeEventListener('abort', endSession);
          checks.stopAll();
        },
        { once: true },
      );
      if (core.signal.aborted) endSession();
      const maybeReady = (): void => {
        const epoch = checks.takeReady();
        if (epoch === undefined) return;
        core.readyAt ??= core.now();
        channel.send({
          v: PROTOCOL_VERSION,
          type: 'ready',
          epoch,
          alive: Math.max(0, Math.round(core.now() - core.startedAt)),
        });
      };
      channel.onMessage((m) => {
        switch (m.type) {
          case 'peer': {
            if (stop.signal.aborted) return;
            const slot = checks.introduce(m);
            if (!slot) return;
            core.setState(m.index, 'unknown', `joined from ${m.address}`);
            const probeSignal = slot.stop.signal;
            checkPeer(core, slot, probeSignal, meshCtx).then(
              (ok) => {
                if (!ok || !checks.verified(slot)) return;
                core.setState(m.index, 'ready', `at ${slot.address}`);
                maybeReady();
              },
              (error: unknown) => {
                if (probeSignal.aborted || !checks.current(slot)) return;
                core.setState(m.index, 'internal-error', `checking it failed: ${errorText(error)}`);
              },
            );
            maybeReady();
            return;
          }
          case 'status':
            coordinatorView = m.missing;
            cfg.onProgress?.({ type: 'status', ready: m.ready, total: m.total });
            return;
          case 'release': {
            stop.abort(SESSION_ENDED);
            const problem = releaseProblem(m, n);
            if (problem) {
              // Not retried (the coordinator has released): say why here and to the coordinator, which then
              // starts nobody either.
              channel.send({ v: PROTOCOL_VERSION, type: 'reject', code: 'protocol', reason: problem });
              channel.close({ kind: 'local', message: 'released' });
              refused(new ProtocolError(`rejected the release from ${channel.remoteAddress}: ${problem}`));
              return;
            }
            channel.send({ v: PROTOCOL_VERSION, type: 'ack', generation: m.generation });
            core.setState(0, 'ready', `at ${channel.remoteAddress}`);
            const result = core.mesh(core.roster(m.addresses), m.generation);
            channel.close({ kind: 'local', message: 'released' });
            resolve(result);
            return;
          }
          default:
            return;
        }
      });
      channel.onClose((reason) => {
        stop.abort(SESSION_ENDED);
        if (reason.kind !== 'local' || reason.message !== 'released') {
          core.setState(
            0,
            'disconnected',
            `coordinator connection ended: ${'message' in reason ? reason.message : 'closed'}`,
          );
          resolve(undefined);
        }
      });
      maybeReady();
    });

  const loop = async (): Promise<Mesh> => {
    for (;;) {
      const result = await memberSession(await findCoordinator());
      if (result) return result;
      // Lost the coordinator before release: it may be restarting on a new address. Look again, fast.
      liveUntil = core.now() + LIVE_WINDOW_MS;
    }
  };

  try {
    return await Promise.race([loop(), refusal, deadline.promise, core.aborted()]);
  } finally {
    deadline.cancel();
  }
}

/** A dial or handshake cut short by an announce from another address (member.ts joinAttempt). */
class Superseded extends Error {}

/**
 * `work`, or a Superseded rejection once `signal` aborts and `applies()` says the announce came from elsewhere;
 * `abandon` then frees what `work` holds, and `discard` gets what `work` still yields later.
 */
function untilAnnounced<T>(
  work: Promise<T>,
  signal: AbortSignal,
  applies: () => boolean,
  abandon?: () => void,
  discard?: (late: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cut = false;
    const onAbort = (): void => {
      if (!applies()) return;
      cut = true;
      abandon?.();
      reject(new Superseded('superseded by an announce'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        if (!cut) resolve(v);
        else discard?.(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!cut) reject(e);
      },
    );
  });
}
