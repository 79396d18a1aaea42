// The evidence rule (ARCHITECTURE.md, "Never poison a name"): no agent asks a pod's name before there is
// evidence its record exists, since a denial given before then stays in the cluster DNS's cache (CoreDNS,
// NodeLocal DNSCache) for its negative TTL, for every pod that asks. Evidence is the headless Service's answer
// holding the pod's address (or, for the coordinator's name, any other pod's), records seen to come before their
// pods connect, an existence probe (existence.ts: a private-type question, whose denial no cache keeps for
// A/AAAA), or a grace time after the pod showed it is alive.
import type { AgentCore } from './agent-core.js';
import { type BackoffPolicy, backoffDelay, DISCOVERY_POLL } from './backoff.js';
import { serviceDenialAgeMs } from './denial-age.js';
import { PROBE_POLL, slowedProbePoll } from './existence.js';
import { sleep, Waker } from './sleep.js';

/**
 * A pod's own name is first asked once the headless Service's answer holds the pod's address, or this long
 * after the pod showed it is alive (a main container's pod is Ready about a second after it starts; with
 * publishNotReadyAddresses the record comes before).
 */
export const RECORD_GRACE_MS = 2000;

/**
 * When records are seen to come before their pods connect (publishNotReadyAddresses), a joined pod's name is
 * asked this long after it joined even without the Service showing it (a cached Service answer may be older).
 */
export const LEAD_GRACE_MS = 300;

/** A wait on nothing but a probe's next verdict looks again at least this often (timers stay finite). */
const WAIT_SLICE_MS = 1000;

/** How long past its grace a wait goes on while a probe's `absent` waits for its confirmation (ProbeLoop). */
export const UNCONFIRMED_HOLD_MS = 8_000;

/**
 * Existence probes of `name` beside a wait (the wait reads the fields): every PROBE_POLL (or `policy`: a name
 * many agents probe, sharedProbePoll) until `exists`. `wake` is called after each verdict and when an `absent`
 * becomes reliable; `onAbsent` once, when the latest verdict is a reliable `absent`. Ends with `signal`.
 */
class ProbeLoop {
  /** A probe said `exists`. */
  found = false;
  /** A verdict came (any). */
  looked = false;
  readonly #core: AgentCore;
  #lastAbsent = false;
  #confirming = false;
  #said = false;

  constructor(
    core: AgentCore,
    readonly name: string,
    readonly signal: AbortSignal,
    readonly wake: () => void,
    readonly onAbsent?: () => void,
    policy: BackoffPolicy = PROBE_POLL,
  ) {
    this.#core = core;
    void this.#run(policy);
  }

  /** The latest verdict is an `absent`, and the server has shown its absences to be reliable (now or since). */
  get absent(): boolean {
    return this.#lastAbsent && this.#core.existence.absentIsReliable;
  }

  /**
   * Whether a wait whose grace ends at `graceEnd` must go on: a reliable `absent`, or an `absent` from a
   * calibrated server whose reliability is still being confirmed (this pod's own record comes about when the
   * pod is Ready, which can be after the grace: measured, N=64 behind a 30 s cache with records 1 s after each
   * start, a member whose own record came late asked a late coordinator's name at its grace's end and the denial
   * was cached for everyone, 2 runs in 6), for at most UNCONFIRMED_HOLD_MS past the grace.
   */
  holdsPast(graceEnd: number): boolean {
    if (this.absent) return true;
    const existence = this.#core.existence;
    return (
      this.#lastAbsent &&
      existence.calibrated &&
      !existence.absentIsReliable &&
      this.#core.now() < graceEnd + UNCONFIRMED_HOLD_MS
    );
  }

  async #run(policy: BackoffPolicy): Promise<void> {
    const core = this.#core;
    const started = core.now();
    try {
      for (let round = 1; ; round++) {
        const verdict = await core.existence.check(this.name, this.signal);
        this.looked = true;
        this.found = verdict === 'exists';
        this.#lastAbsent = verdict === 'absent';
        // One confirmation before the verdict is told (a waiter reads it at once), more beside if still needed.
        if (this.#lastAbsent && !core.existence.absentIsReliable) await this.#confirmOnce();
        if (this.#lastAbsent && !core.existence.absentIsReliable) void this.#confirm();
        this.#tell();
        if (this.found) return;
        const poll = slowedProbePoll(policy, core.now() - started);
        await sleep(backoffDelay(poll, round, core.cfg.random), this.signal, undefined, core.clock);
      }
    } catch {
      // The wait is over (its signal aborted): nothing more to say.
    }
  }

  /**
   * An `absent` is relied on once the server said `exists` of some name. The Service's name, when its answer
   * holds pods, exists: asked once (a private-use type: nothing cached for its A question). Where it does not
   * (its denial cached from before any pod was published), this pod's own name, every PROBE_POLL until it
   * exists: its record comes about when this pod is Ready, before the grace a denial would end. Apart from the
   * verdicts' own poll, which may be slow (a shared name), so the grace does not end before this is known.
   */
  async #confirm(): Promise<void> {
    if (this.#confirming) return;
    this.#confirming = true;
    const core = this.#core;
    const started = core.now();
    try {
      for (let round = 1; core.existence.calibrated && !core.existence.absentIsReliable; round++) {
        const poll = slowedProbePoll(PROBE_POLL, core.now() - started);
        await sleep(backoffDelay(poll, round, core.cfg.random), this.signal, undefined, core.clock);
        await this.#confirmOnce();
      }
      this.#tell();
    } catch {
      // The wait is over.
    } finally {
      this.#confirming = false;
    }
  }

  /** Ask what is known to exist: the Service's name while its answer holds pods, else this pod's own name. */
  async #confirmOnce(): Promise<void> {
    const core = this.#core;
    const service = core.cfg.serviceName;
    if (service !== undefined && (core.service.latest?.addresses.size ?? 0) > 0)
      await core.existence.confirm(service, this.signal);
    const own = core.fqdn(core.cfg.index);
    if (!core.existence.absentIsReliable && own.toLowerCase() !== this.name.toLowerCase())
      await core.existence.confirm(own, this.signal, true);
  }

  #tell(): void {
    if (this.absent && !this.#said) {
      this.#said = true;
      this.onAbsent?.();
    }
    this.wake();
  }
}

/**
 * Coordinator: wait until the record of the pod at `address` (alive since `since()`), `name`, may be asked: an
 * existence probe says it is there, the Service's answer holds the address, records lead (then LEAD_GRACE_MS
 * unless the answer is authoritative), or RECORD_GRACE_MS passed — unless a probe the server has shown to be
 * reliable says the record is still absent (or one whose reliability is being confirmed, for a while:
 * ProbeLoop.holdsPast): then the grace does not end the wait, the next probe may. Without
 * a Service, only the probe: its first verdict decides unless it is a reliable absence. `waiting` is told why
 * the name is not asked yet (once, and once more when a probe finds it absent).
 */
export async function recordEvidence(
  core: AgentCore,
  options: {
    name: string;
    address: string | undefined;
    since: () => number;
    signal: AbortSignal;
    recordsLead: () => boolean;
    waiting: (why: string) => void;
  },
): Promise<void> {
  const done = new AbortController();
  const signal = AbortSignal.any([options.signal, done.signal]);
  let said = false;
  if (core.service.publishes(options.address)) return;
  const probe = new ProbeLoop(
    core,
    options.name,
    signal,
    () => core.service.poke(),
    () => {
      said = true;
      options.waiting(`its record does not exist yet (${probeText(options.name)}); asked again shortly`);
    },
  );
  try {
    for (;;) {
      if (options.signal.aborted) throw options.signal.reason;
      if (probe.found || core.service.publishes(options.address)) return;
      if (core.cfg.serviceName === undefined) {
        if (probe.looked && !probe.absent) return;
        await core.service.next(core.now() + WAIT_SLICE_MS, signal);
        continue;
      }
      // Records seen to come before their pods: wait only a moment for the Service to show this one, since a
      // cached Service answer may be older than the pod. The zone's own answer (AA with the whole TTL: no cache
      // between) is not: it lacks the address because the record is not there yet (a slow update), so wait on.
      const lead = options.recordsLead() && core.service.latest?.cached !== false;
      const until = options.since() + (lead ? LEAD_GRACE_MS : RECORD_GRACE_MS);
      if (!probe.holdsPast(until) && core.now() >= until) return;
      if (!said) {
        said = true;
        options.waiting(
          `its name is asked once it is seen to exist or the Service's answer holds ${options.address ?? 'its address'} (at most ${RECORD_GRACE_MS / 1000} s)`,
        );
      }
      await core.service.next(
        probe.absent || core.now() >= until ? core.now() + WAIT_SLICE_MS : until,
        signal,
      );
    }
  } finally {
    done.abort();
  }
}

/**
 * One-sided modes: wait until `name` may be asked — an existence probe finds it, or `gate` (the shared Service
 * evidence) opened while the probe has not reliably found it absent. Probes stop when this returns.
 */
export async function nameEvidence(
  core: AgentCore,
  name: string,
  gate: Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const done = new AbortController();
  const waker = new Waker();
  const probe = new ProbeLoop(core, name, AbortSignal.any([signal, done.signal]), () => waker.wake());
  let open = false;
  gate.then(
    () => {
      open = true;
      waker.wake();
    },
    () => {},
  );
  try {
    while (!probe.found && !(open && probe.looked && !probe.absent))
      await sleep(WAIT_SLICE_MS, signal, waker, core.clock);
  } finally {
    done.abort();
  }
}

/** How a probe's absence reads in a progress line. */
export function probeText(name: string): string {
  return `NXDOMAIN for ${name} asked with a private-use type, which no cache keeps for its A question`;
}

/** How a probe that found the record reads in a progress line. */
export function probeFoundText(): string {
  return 'its name is asked now: its record exists (NODATA for a private-use type)';
}

/**
 * Poll the Service name until `enough` says its answer is evidence, at most until RECORD_GRACE_MS after this
 * pod started. `onAnswer` sees every answer that was not enough (for progress lines). With `probe` (a member
 * looking for the coordinator: its name), existence probes of that name run beside: `exists` ends the wait
 * (`onExists`), a reliable `absent` (or one being confirmed, for a while) keeps it going past the grace
 * (`onAbsent` is told, once, of a reliable one) and overrules an
 * answer `enough` called evidence (other pods' records say nothing of this one's); without a Service the probe
 * alone decides, as in recordEvidence. With `dateDenial`, a cached denial of the Service's name older
 * than this pod moves that end to RECORD_GRACE_MS after the denial was new — a pod asked the Service's name then
 * (ARCHITECTURE.md); `onDated` is told its age when that ends the wait.
 */
export async function serviceEvidence(
  core: AgentCore,
  options: {
    enough: (addresses: readonly string[]) => boolean;
    signal: AbortSignal;
    policy?: BackoffPolicy;
    onAnswer?: (lookup: Awaited<ReturnType<AgentCore['service']['ask']>>) => void;
    probe?: string;
    /** How often `probe` is probed (default PROBE_POLL). */
    probePolicy?: BackoffPolicy;
    onExists?: () => void;
    onAbsent?: () => void;
    /** Once, when the wait goes on past its grace only because the probe's `absent` is still unconfirmed. */
    onHeld?: () => void;
    dateDenial?: boolean;
    onDated?: (ageMs: number) => void;
  },
): Promise<void> {
  const service = core.cfg.serviceName;
  if (service === undefined && options.probe === undefined) return;
  const done = new AbortController();
  const signal = AbortSignal.any([options.signal, done.signal]);
  const waker = new Waker();
  // Started at the Service's first answer (with a Service): where that answer is not enough, it is what the wait
  // waits on; where it is, the probe's first verdict decides (see below).
  let probe: ProbeLoop | undefined;
  const startProbe = (): void => {
    if (options.probe !== undefined && probe === undefined)
      probe = new ProbeLoop(
        core,
        options.probe,
        signal,
        () => waker.wake(),
        options.onAbsent,
        options.probePolicy,
      );
  };
  const found = (): boolean => {
    if (!probe?.found) return false;
    options.onExists?.();
    return true;
  };
  let end = core.startedAt + RECORD_GRACE_MS;
  let dated = options.dateDenial !== true;
  let held = false;
  let round = 0;
  try {
    if (service === undefined) {
      // Only the probe: its first verdict decides, unless it is a reliable absence.
      startProbe();
      while (!probe!.looked || probe!.absent) {
        if (found()) return;
        await sleep(WAIT_SLICE_MS, options.signal, waker, core.clock);
      }
      found();
      return;
    }
    for (;;) {
      if (found()) return;
      const lookup = await core.service.ask();
      const at = core.now();
      if (found()) return;
      if (lookup && options.enough(lookup.addresses)) {
        // Other pods in the Service's answer say the job's records are being published, not that this name's
        // is: a pod scheduled late (a late coordinator) has none yet, and a question now would be denied and
        // cached. Where the probe works its verdict decides; a reliable absence waits on.
        if (options.probe === undefined) return;
        startProbe();
        // From here only the probe decides (the Service is not asked again): `exists`, or any verdict but a
        // reliable absence (the answer is enough then, as it was before the probe).
        while (!probe!.looked || (probe!.absent && !probe!.found))
          await sleep(WAIT_SLICE_MS, options.signal, waker, core.clock);
        found();
        return;
      }
      startProbe();
      if (!dated && lookup?.denial) {
        dated = true;
        const age = await serviceDenialAgeMs(core.gate, service, lookup.denial, options.signal);
        if (at - age < core.startedAt) {
          end = Math.min(end, at - age + RECORD_GRACE_MS);
          if (!probe?.holdsPast(end) && core.now() >= end) {
            options.onDated?.(age);
            return;
          }
        }
      }
      if (!probe?.holdsPast(end) && core.now() >= end) return;
      if (core.now() >= end && !probe?.absent && !held) {
        held = true;
        options.onHeld?.();
      }
      options.onAnswer?.(lookup);
      round++;
      const pause = backoffDelay(options.policy ?? DISCOVERY_POLL, round, core.cfg.random);
      const left = probe?.absent || core.now() >= end ? pause : end - core.now();
      await sleep(Math.max(0, Math.min(left, pause)), options.signal, waker, core.clock);
    }
  } finally {
    done.abort();
  }
}
