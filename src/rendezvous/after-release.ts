// After the release: the verdict for a pod that comes too late (a replacement after the one-shot barrier).
//
// Two ways a late pod learns the job was released without it:
//  - the coordinator, during its release grace window, answers a join with a `released` reject (generation,
//    release time): certain, and the time is known;
//  - the peers' names resolve but their agent ports refuse connections for `releasedAfterMs` without a
//    break: the pods run the workload (their agents exec'd it). A member watches the coordinator; a restarted
//    coordinator watches every member address it announces to. Evidence-based: one accepted connection (an
//    agent that is still waiting) restarts the clock.
import { RendezvousError } from '../errors.js';

/** Default of `--released-after`: refusals from live names this long mean "released without this pod". */
export const DEFAULT_RELEASED_AFTER_MS = 30_000;

/** What the fix is, the same in every verdict. */
export const RELEASED_FIX =
  'let a pod failure fail the whole Job instead of replacing the pod ' +
  '(podFailurePolicy with action FailJob, or backoffLimitPerIndex: 0), use JobSet with failurePolicy restarting all Jobs, ' +
  'or run peer-rendezvous as a native sidecar (`peer-rendezvous sidecar`, `manifest --sidecar`), which lets replacements rejoin';

/** The job was released without this pod. Exit 75 (EX_TEMPFAIL: the job as a whole can run again). */
export class ReleasedWithoutThisPodError extends RendezvousError {
  /** The generation of the release this pod missed, when the coordinator said it. */
  readonly generation: string | undefined;
  /** When the others were released (epoch ms), when known. */
  readonly releasedAt: number | undefined;
  /** How the verdict was reached: the coordinator's `released` reject, or refused connections for a while. */
  readonly evidence: 'released-reject' | 'refused';
  constructor(details: {
    index: number;
    evidence: 'released-reject' | 'refused';
    generation?: string | undefined;
    releasedAt?: number | undefined;
    /** What was refused and for how long, for `refused`. */
    detail?: string;
  }) {
    const what =
      details.releasedAt !== undefined
        ? `the other pods were released at ${formatClock(details.releasedAt)}${details.generation ? ` (generation ${details.generation})` : ''} and run the workload`
        : `the other pods were most likely released and run the workload (${details.detail ?? 'their agents no longer answer'})`;
    super(
      'RDV_ERR_RELEASED',
      `${what}; this pod (index ${details.index}) is a replacement and cannot join a one-shot barrier. Fix: ${RELEASED_FIX}`,
    );
    this.generation = details.generation;
    this.releasedAt = details.releasedAt;
    this.evidence = details.evidence;
  }
}

/** `12:00:03` in UTC, with the date when it is not today's. */
export function formatClock(epochMs: number, now: number = Date.now()): string {
  const iso = new Date(epochMs).toISOString();
  const time = `${iso.slice(11, 19)} UTC`;
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
}

/**
 * Tracks refused connections to names that resolve. `refused()` after each round in which every address
 * refused, `answered()` when any accepted a connection; `expired()` once the refusals lasted `boundMs`
 * without a break. A bound of 0 turns the verdict off.
 */
export class RefusalWatch {
  readonly boundMs: number;
  readonly #now: () => number;
  #since: number | undefined;
  #what = '';

  constructor(boundMs: number, now: () => number) {
    this.boundMs = boundMs;
    this.#now = now;
  }

  /** Every address tried this round refused the connection (`what` names them, for the message). */
  refused(what: string): void {
    this.#since ??= this.#now();
    this.#what = what;
  }

  /** An agent accepted a connection (or something else happened than a refusal): start again. */
  answered(): void {
    this.#since = undefined;
  }

  /** Since when the refusals have lasted, undefined when the last round was not a refusal. */
  get since(): number | undefined {
    return this.#since;
  }

  expired(): boolean {
    return this.boundMs > 0 && this.#since !== undefined && this.#now() - this.#since >= this.boundMs;
  }

  /** `… at 10.0.0.5:29600 refused every connection since 12:00:05 UTC (30 s) while its name resolves`. */
  describe(): string {
    const ms = this.#since === undefined ? 0 : this.#now() - this.#since;
    const since = formatClock(Date.now() - ms);
    return `${this.#what} refused every connection since ${since} (${(ms / 1000).toFixed(0)} s) while the name resolves`;
  }
}
