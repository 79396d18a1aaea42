// The evidence rule (ARCHITECTURE.md, "Never poison a name"): no agent asks a pod's name before there is
// evidence its record exists, since a denial given before then stays in the cluster DNS's cache (CoreDNS,
// NodeLocal DNSCache) for its negative TTL, for every pod that asks. Evidence is the headless Service's answer
// holding the pod's address (or, for the coordinator's name, any other pod's), records seen to come before their
// pods connect, or a grace time after the pod showed it is alive.
import type { AgentCore } from './agent-core.js';
import { type BackoffPolicy, backoffDelay, DISCOVERY_POLL } from './backoff.js';
import { serviceDenialAgeMs } from './denial-age.js';
import { sleep } from './sleep.js';

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

/**
 * Coordinator: wait until the record of the pod at `address` (alive since `since()`) may be asked: the
 * Service's answer holds the address, records lead (then LEAD_GRACE_MS unless the answer is authoritative),
 * or RECORD_GRACE_MS passed. `waiting` is told once why the name is not asked yet.
 */
export async function recordEvidence(
  core: AgentCore,
  options: {
    address: string | undefined;
    since: () => number;
    signal: AbortSignal;
    recordsLead: () => boolean;
    waiting: (why: string) => void;
  },
): Promise<void> {
  let said = false;
  for (;;) {
    if (options.signal.aborted) throw options.signal.reason;
    if (core.cfg.serviceName === undefined || core.service.publishes(options.address)) return;
    // Records seen to come before their pods: wait only a moment for the Service to show this one, since a
    // cached Service answer may be older than the pod. The zone's own answer (AA with the whole TTL: no cache
    // between) is not: it lacks the address because the record is not there yet (a slow update), so wait on.
    const lead = options.recordsLead() && core.service.latest?.cached !== false;
    const until = options.since() + (lead ? LEAD_GRACE_MS : RECORD_GRACE_MS);
    if (core.now() >= until) return;
    if (!said) {
      said = true;
      options.waiting(
        `its name is asked once the Service's answer holds ${options.address ?? 'its address'} (at most ${RECORD_GRACE_MS / 1000} s)`,
      );
    }
    await core.service.next(until, options.signal);
  }
}

/**
 * Poll the Service name until `enough` says its answer is evidence, at most until RECORD_GRACE_MS after this
 * pod started. `onAnswer` sees every answer that was not enough (for progress lines). With `dateDenial` (a
 * member looking for the coordinator), a cached denial of the Service's name older than this pod moves that
 * end to RECORD_GRACE_MS after the denial was new — a pod asked the Service's name then (ARCHITECTURE.md);
 * `onDated` is told its age when that ends the wait.
 */
export async function serviceEvidence(
  core: AgentCore,
  options: {
    enough: (addresses: readonly string[]) => boolean;
    signal: AbortSignal;
    policy?: BackoffPolicy;
    onAnswer?: (lookup: Awaited<ReturnType<AgentCore['service']['ask']>>) => void;
    dateDenial?: boolean;
    onDated?: (ageMs: number) => void;
  },
): Promise<void> {
  const service = core.cfg.serviceName;
  if (service === undefined) return;
  let end = core.startedAt + RECORD_GRACE_MS;
  let dated = options.dateDenial !== true;
  let round = 0;
  while (core.now() < end) {
    const lookup = await core.service.ask();
    const at = core.now();
    if (lookup && options.enough(lookup.addresses)) return;
    if (!dated && lookup?.denial) {
      dated = true;
      const age = await serviceDenialAgeMs(core.gate, service, lookup.denial, options.signal);
      if (at - age < core.startedAt) {
        end = Math.min(end, at - age + RECORD_GRACE_MS);
        if (core.now() >= end) {
          options.onDated?.(age);
          return;
        }
      }
    }
    options.onAnswer?.(lookup);
    round++;
    const left = end - core.now();
    const pause = backoffDelay(options.policy ?? DISCOVERY_POLL, round, core.cfg.random);
    await sleep(Math.min(left, pause), options.signal, undefined, core.clock);
  }
}
