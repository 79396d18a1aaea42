// The timeout report: at the deadline, every unfinished peer's last state and the hints, with one diagnostic
// look at this pod's own record shortly before.
import { ipFamily } from '../dns/ip-bytes.js';
import type { AgentCore } from './agent-core.js';
import type { TimerHandle } from './clock.js';
import { RendezvousTimeoutError } from './errors.js';
import { hintsFor, type PeerReport, type PeerStateKind } from './peer-state.js';
import { sleep } from './sleep.js';

/** How long before the deadline the agent asks about its own name, for the timeout hints. */
const DIAGNOSTIC_MS = 1000;
/** An unanswered question older than this, at the deadline, makes the report say "DNS timeout". */
const SILENT_DNS_MS = 1000;
/** How long past the deadline the report waits for the diagnostic answer. */
const DIAGNOSTIC_LATE_MS = 100;

/**
 * Is our own record published (for the hints)? Read from the Service's answer, never by asking our own name
 * (which would put a denial in the cluster's cache for every pod that asks after us).
 */
export async function selfState(core: AgentCore, ms: number): Promise<PeerStateKind | undefined> {
  const self = core.fqdn(core.cfg.index);
  if (ipFamily(self) !== 0 || core.cfg.serviceName === undefined) return undefined;
  const lookup = await Promise.race([
    core.service.ask(),
    sleep(ms, undefined, undefined, core.clock).then(() => undefined),
  ]);
  if (!lookup) return undefined;
  if (lookup.addresses.length === 0) return lookup.state;
  if (core.selfAddress === undefined) return undefined;
  return lookup.addresses.includes(core.selfAddress) ? 'ready' : 'nodata';
}

/**
 * A peer never seen whose name's DNS question is still unanswered after a second is shown as a DNS timeout:
 * with `--timeout` shorter than the resolver's own timeout no answer (nor timeout) ever came back, and "not
 * seen yet" would hide that the DNS is silent.
 */
export function silentDns(core: AgentCore, p: PeerReport, now: number): PeerReport {
  if (p.state !== 'unknown' || p.seenBy !== 'self') return p;
  // A peer whose name waits for evidence waits on the Service name's question.
  const serviceName = core.cfg.serviceName;
  const service = serviceName === undefined ? undefined : core.gate.askedSince(serviceName);
  const own = core.gate.askedSince(p.fqdn);
  const since = own === undefined ? service : service === undefined ? own : Math.min(own, service);
  if (since === undefined || now - since < SILENT_DNS_MS) return p;
  return { ...p, state: 'dns-timeout', detail: 'question unanswered', since };
}

/** The timeout error: every unfinished peer's last state and the hints. */
export function timeoutError(
  core: AgentCore,
  unfinished: () => PeerReport[],
  self: PeerStateKind | undefined,
): RendezvousTimeoutError {
  const { cfg } = core;
  const now = core.now();
  const peers = unfinished().map((p) => silentDns(core, p, now));
  return new RendezvousTimeoutError({
    peers,
    hints: hintsFor(peers, {
      total: cfg.completions,
      selfState: self,
      service: cfg.serviceName,
      jobName: cfg.jobName,
      port: cfg.port,
    }),
    waitedMs: now - core.startedAt,
    total: cfg.completions,
    at: now,
  });
}

/**
 * A promise that rejects with the timeout error at the deadline. The diagnostic question about our own name
 * goes out shortly before, so the report is not late.
 */
export function deadlineReached(
  core: AgentCore,
  unfinished: () => PeerReport[],
): { promise: Promise<never>; cancel: () => void } {
  const { clock } = core;
  const timers: TimerHandle[] = [];
  let self: Promise<PeerStateKind | undefined> = Promise.resolve(undefined);
  const left = Math.max(0, core.cfg.deadline - clock.now());
  const ask = Math.min(DIAGNOSTIC_MS, left);
  timers.push(clock.setTimeout(() => (self = selfState(core, ask)), left - ask));
  const promise = new Promise<never>((_, reject) => {
    timers.push(
      clock.setTimeout(() => {
        // Wait a moment for the diagnostic answer, never much past the deadline.
        const late = new Promise<undefined>((resolve) =>
          timers.push(clock.setTimeout(() => resolve(undefined), DIAGNOSTIC_LATE_MS)),
        );
        Promise.race([self, late]).then((state) => reject(timeoutError(core, unfinished, state)));
      }, left),
    );
  });
  // Nobody may be racing it when it fires after the role ended: never an unhandled rejection.
  promise.catch(() => {});
  return {
    promise,
    cancel: () => {
      for (const t of timers) clock.clearTimeout(t);
    },
  };
}
