// One-sided modes: `dns` (every name resolves) and `tcp:<port>` (names resolve and the port accepts). No
// barrier: each pod decides alone, so these are for workloads that need only reachability.
import type { AgentCore } from './agent-core.js';
import { type BackoffPolicy, CONNECT_RETRY } from './backoff.js';
import { nameEvidence, serviceEvidence } from './evidence.js';
import { failureState } from './failure.js';
import { resolveUntil } from './lookup.js';
import type { RosterEntry } from './messages.js';
import type { PeerReport } from './peer-state.js';
import { deadlineReached } from './report.js';
import { NotYet, retryUntil } from './retry.js';
import type { Mesh } from './types.js';

const ONE_SIDED_POLL: BackoffPolicy = { first: 100, factor: 2, cap: 1000, floor: 50 };
const ONE_SIDED_CONCURRENCY = 64;

export async function runOneSided(core: AgentCore, tcpPort: number | undefined): Promise<Mesh> {
  const { cfg } = core;
  const n = cfg.completions;
  const targets = [...Array(n).keys()].filter((i) => tcpPort === undefined || i !== cfg.index);
  const addresses = new Map<number, readonly string[]>();
  for (const i of targets) core.setState(i, 'unknown');

  // The first address of `addrs` whose port accepts a connection, retried with backoff until the deadline.
  const openAddress = (i: number, addrs: readonly string[], port: number): Promise<string | undefined> =>
    retryUntil(
      async () => {
        let last: unknown;
        for (const a of addrs) {
          try {
            const ch = await core.dial(a, port, 1);
            ch.close({ kind: 'local', message: 'tcp check done' });
            return a;
          } catch (error) {
            last = error;
          }
        }
        const f = failureState(last);
        core.setState(i, f.state, f.detail);
        throw new NotYet('port closed');
      },
      {
        policy: CONNECT_RETRY,
        deadline: cfg.deadline,
        signal: core.signal,
        clock: core.clock,
        random: cfg.random,
      },
    ).catch(() => undefined);

  const checkOne = async (i: number): Promise<void> => {
    await nameEvidence(core, core.fqdn(i), gateOpen, core.signal);
    const addrs = await resolveUntil(core.gate, core.fqdn(i), (a) => a.length > 0, {
      policy: () => ONE_SIDED_POLL,
      deadline: cfg.deadline,
      signal: core.signal,
      clock: core.clock,
      random: cfg.random,
      onMiss: (lookup) => core.setState(i, lookup.state, lookup.detail),
    });
    if (!addrs) return;
    if (tcpPort !== undefined) {
      const open = await openAddress(i, addrs, tcpPort);
      if (open === undefined) return;
      addresses.set(i, [open, ...addrs.filter((a) => a !== open)]);
    } else addresses.set(i, addrs);
    core.setState(i, 'ready', addresses.get(i)!.join(', '));
  };

  // Evidence before the first question for a pod's name: an existence probe finds it, or the Service's answer
  // holds as many addresses as there are pods (they all have records) or RECORD_GRACE_MS passed — unless the
  // probe reliably finds the name absent.
  const gateOpen = serviceEvidence(core, { enough: (a) => a.length >= n, signal: core.signal });
  gateOpen.catch(() => {});
  const queue = [...targets];
  const workers = Array.from({ length: Math.min(ONE_SIDED_CONCURRENCY, queue.length) }, async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) await checkOne(i);
  });
  const unfinished = (): PeerReport[] =>
    targets.filter((i) => !addresses.has(i)).map((i) => core.states.get(i)!);
  const deadline = deadlineReached(core, unfinished);
  try {
    await Promise.race([Promise.all(workers), deadline.promise, core.aborted()]);
    if (addresses.size < targets.length) return await Promise.race([deadline.promise, core.aborted()]);
    core.readyAt = core.now();
    // tcp checks no own entry; with ip exports it still needs this pod's address.
    if (core.peerAddress === 'ip' && !addresses.has(cfg.index) && core.selfAddress !== undefined)
      addresses.set(cfg.index, [core.selfAddress]);
    const roster: RosterEntry[] = cfg.peers.map((fqdn, index) => ({
      index,
      fqdn,
      addresses: [...(addresses.get(index) ?? [])],
    }));
    return core.mesh(roster, `one-sided-${cfg.verify.kind}`);
  } finally {
    deadline.cancel();
  }
}
