// An Indexed Job played out in network-namespace pods with Knot as the cluster DNS: pods start (some late),
// their records are published as they become ready, each pod's output is watched for its release line.
// Shared by the end-to-end tests and the benchmark against the seed's loop.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createNetnsCluster, type NetnsCluster, type NetnsPod, untilHeld } from './netns.js';
import { type JobDns, type JobDnsCache, startJobDns } from './netns-job-dns.js';
import { disposeOnProcessExit } from './netns-teardown.js';
import { processGroupCpu, readTimesFile } from './process-cpu.js';
import { Timeline } from './timeline.js';
import type { UnboundReply, UnboundStats } from './unbound.js';

/** What a pod's command is built from. */
export interface JobPodContext {
  readonly index: number;
  readonly hostname: string;
  readonly fqdn: string;
  readonly address: string;
  /** The DNS server inside the namespaces (port 53). */
  readonly dnsAddress: string;
}

/** Options of {@link runNetnsJob}. */
export interface NetnsJobOptions {
  /** Number of pods (completions). */
  readonly n: number;
  readonly jobName?: string;
  readonly subdomain?: string;
  readonly namespace?: string;
  readonly zone?: string;
  /** argv each pod runs (its container command). */
  readonly command: (pod: JobPodContext) => readonly string[];
  /**
   * Pod i's hostname and subdomain as its controller makes them (default `<jobName>-<i>` in `subdomain`):
   * JobSet, StatefulSet, LWS, Volcano and MPIJob pods are named otherwise.
   */
  readonly podName?: (index: number) => { readonly hostname: string; readonly subdomain?: string };
  /** JOB_COMPLETION_INDEX of pod i, undefined for none (default: i, as an Indexed Job sets it). */
  readonly completionIndex?: (index: number) => string | undefined;
  /** Extra env of each pod (PATH and, unless completionIndex says otherwise, JOB_COMPLETION_INDEX are set). */
  readonly env?: (pod: JobPodContext) => Record<string, string>;
  /**
   * True for the output line that says the pod's workload starts (its release), or the wall-clock time
   * (Date.now() terms) the pod itself wrote in that line: then the release is dated by the pod, not by when
   * this process got around to reading the line (which, with every pod released at once on a few cores, can
   * be tens of milliseconds later).
   */
  readonly released: (line: string, pod: JobPodContext) => boolean | number;
  /** Pods that start late: index → delay after the others (ms). */
  readonly startDelays?: ReadonlyMap<number, number>;
  /**
   * Record published this long after a pod starts (default 200 ms). Negative: the record is published first
   * and the pod started once the update is committed (the record exists when the agent starts, as with
   * `publishNotReadyAddresses: true`); the run's clock starts with the first publication then.
   */
  readonly publishDelayMs?: number;
  /** Publish records at all (false: pods never become ready, as with an init container). Default true. */
  readonly publish?: boolean;
  /** Restart one pod: kill it at `atMs`, start it again in a new namespace with a new address; its old
   *  record stays served until `staleMs` after the new one is published. With `stranger`, that argv runs
   *  in a namespace given the old address once the pod is gone (a recycled pod IP: another workload's pod,
   *  e.g. strangerCommand(port) listening on the agent's port), until the run ends. */
  readonly restart?: {
    readonly index: number;
    readonly atMs: number;
    readonly staleMs: number;
    readonly stranger?: readonly string[];
  };
  /** Kill whatever still runs this long after the start (ms). */
  readonly capMs: number;
  /** Called with each output line of each pod, and with scenario events (pod -1). */
  readonly onLine?: (index: number, line: string) => void;
  /** Namespace name prefix (default `prdv`). */
  readonly prefix?: string;
  /**
   * A caching resolver between the pods and Knot, as in a cluster (CoreDNS' cache, NodeLocal DNSCache):
   * unbound on the DNS address (port 53) capped at `seconds`, Knot behind it on port 5300 with `ttl` (default
   * `seconds`) as record TTL, SOA TTL and SOA MINIMUM. Default: none (the pods ask Knot).
   */
  readonly dnsCache?: JobDnsCache;
  readonly signal?: AbortSignal;
}

/** One pod's outcome. */
export interface NetnsJobPodResult {
  readonly index: number;
  readonly hostname: string;
  /** Address of its last incarnation. */
  readonly address: string;
  /** When its (last) incarnation started, ms after the run's start. */
  readonly startedAtMs: number;
  /** When its release line came, ms after the run's start; undefined if it never came. */
  readonly releasedAtMs: number | undefined;
  /** When its (last) incarnation printed its first line, ms after the run's start (start-up cost). */
  readonly firstLineAtMs: number | undefined;
  /** Exit code, or null when it was killed (cap) or ended by a signal. */
  readonly exitCode: number | null;
  readonly output: readonly string[];
  /** CPU seconds of the pod's processes (all incarnations). */
  readonly cpuSeconds: number;
}

/** The outcome of a run. */
export interface NetnsJobResult {
  readonly pods: readonly NetnsJobPodResult[];
  /** When the last record was published (its update sent), ms after the start. */
  readonly lastPublishAtMs: number;
  /** DNS queries the authoritative server (Knot) answered while the pods ran. */
  readonly queries: number;
  /** With `dnsCache`: what the cache counted while the pods ran (queries the pods sent it, hits). */
  readonly cache: UnboundStats | undefined;
  /** With `dnsCache.logReplies`: every reply the cache gave while the pods ran (client = a pod's address). */
  readonly cacheReplies: readonly UnboundReply[] | undefined;
  /** CPU seconds of all pods. */
  readonly podCpuSeconds: number;
  /** CPU seconds of the DNS server. */
  readonly dnsCpuSeconds: number;
  /** True when the cap ended the run. */
  readonly capped: boolean;
}

const MAX_LINES = 2_000;

interface PodState {
  readonly ctx: JobPodContext;
  netnsPod: NetnsPod;
  child: ChildProcess | undefined;
  startedAtMs: number;
  releasedAtMs: number | undefined;
  firstLineAtMs: number | undefined;
  exitCode: number | null;
  done: boolean;
  cpu: number;
  incarnation: number;
  readonly output: string[];
}

/** Run the job and tear everything down; resolves when every pod ended or the cap was reached. */
export async function runNetnsJob(options: NetnsJobOptions): Promise<NetnsJobResult> {
  const jobName = options.jobName ?? 'example-job';
  const subdomain = options.subdomain ?? 'headless-svc';
  const namespace = options.namespace ?? 'default';
  const zone = options.zone ?? 'cluster.local';
  const publishDelayMs = options.publishDelayMs ?? 200;
  const publish = options.publish ?? true;
  const search = [`${namespace}.svc.${zone}`, `svc.${zone}`, zone];

  const completionIndexEnv = (i: number): Record<string, string> => {
    const value = options.completionIndex === undefined ? String(i) : options.completionIndex(i);
    return value === undefined ? {} : { JOB_COMPLETION_INDEX: value };
  };

  const cluster: NetnsCluster = await createNetnsCluster({ prefix: options.prefix ?? 'prdv' });
  const offExit = disposeOnProcessExit(() => cluster.dispose());
  let timeline: Timeline | undefined;
  let dns: JobDns | undefined;
  try {
    dns = await startJobDns(cluster, zone, options.dnsCache);
    const serviceOf = (i: number) =>
      `${options.podName?.(i).subdomain ?? subdomain}.${namespace}.svc.${zone}`;
    const specs = Array.from({ length: options.n }, (_, i) => {
      const hostname = options.podName?.(i).hostname ?? `${jobName}-${i}`;
      return { hostname, fqdn: `${hostname}.${serviceOf(i)}`, search };
    });
    const netnsPods = await cluster.addPods(specs);
    const pods: PodState[] = netnsPods.map((p, index) => ({
      ctx: {
        index,
        hostname: p.hostname,
        fqdn: p.fqdn!,
        address: p.address,
        dnsAddress: cluster.dnsAddress,
      },
      netnsPod: p,
      child: undefined,
      startedAtMs: Number.NaN,
      releasedAtMs: undefined,
      firstLineAtMs: undefined,
      exitCode: null,
      done: false,
      cpu: 0,
      incarnation: 0,
      output: [],
    }));
    const server = dns;
    // Every pod is set up first (namespace, hostname), held before its command: a start is then one write
    // to the pod's stdin. Spawning is synchronous (a fork of this process, then ip netns exec, unshare, sh),
    // and with 64 pods on 2 cores the pods already started took most of the CPU, so starting a group by
    // spawning spread it over 3–4 s: at N=64 with a CPU-bound agent, pods of the first group started after
    // the "late" one. kubelet's containers, too, start on their own node's CPU, not after each other's.
    // Times on the run's time line (0 until it starts: a pod that fails before it is held may print first).
    const now = () => timeline?.now() ?? 0;
    // The wall clock at the start, to place times the pods wrote (Date.now() terms) on this run's time line.
    const epochAtStart = () => performance.timeOrigin + (timeline?.t0 ?? performance.now());
    const spawnHeld = (pod: PodState) => {
      const ctx: JobPodContext = { ...pod.ctx, address: pod.netnsPod.address };
      const cpuFile = join(cluster.dir, `cpu-${pod.netnsPod.netns}`);
      const child = cluster.spawnInPod(pod.netnsPod, options.command(ctx), {
        env: {
          PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
          ...completionIndexEnv(pod.ctx.index),
          ...options.env?.(ctx),
        },
        cpuFile,
        stdio: ['ignore', 'pipe', 'pipe'],
        held: true,
      });
      const incarnation = ++pod.incarnation;
      pod.child = child;
      pod.done = false;
      pod.exitCode = null;
      pod.firstLineAtMs = undefined;
      const onLine = (line: string) => {
        if (incarnation === pod.incarnation) pod.firstLineAtMs ??= now();
        if (pod.output.length < MAX_LINES) pod.output.push(line);
        options.onLine?.(pod.ctx.index, line);
        if (incarnation === pod.incarnation && pod.releasedAtMs === undefined) {
          const released = options.released(line, ctx);
          if (typeof released === 'number') pod.releasedAtMs = released - epochAtStart();
          else if (released) pod.releasedAtMs = now();
        }
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', onLine);
      // 'close', not 'exit': the last lines (the release line of a short workload) may still be in the pipe.
      child.once('close', (code) => {
        pod.cpu += readTimesFile(cpuFile) ?? 0;
        if (incarnation !== pod.incarnation) return;
        pod.exitCode = code;
        pod.done = true;
        timeline?.wake();
      });
      return child;
    };
    /** Start a pod spawned held: its command runs now. */
    const start = (pod: PodState) => {
      pod.startedAtMs = now();
      pod.child?.stdin?.end('\n');
    };
    for (const pod of pods) spawnHeld(pod);
    await Promise.all(pods.map((p) => untilHeld(p.child!)));

    const counted = dns.mark();
    const run = new Timeline();
    timeline = run;
    const event = (line: string) => options.onLine?.(-1, `[${(now() / 1000).toFixed(2)} s] ${line}`);
    let lastPublishAtMs = 0;
    // `blocking` events keep the run going until they fired (starts, restarts); cleanup does not.
    const at = (ms: number, fn: () => void | Promise<void>, blocking = true) => run.at(ms, fn, blocking);
    const publishPods = async (list: PodState[]) => {
      if (!publish || list.length === 0) return;
      // The publish moment is when the update is sent: a pod may see the record before knsupdate exits.
      const sentAt = now();
      await server.publish(list.map((p) => p.netnsPod));
      lastPublishAtMs = Math.max(lastPublishAtMs, sentAt);
      event(`published ${list.map((p) => p.ctx.hostname).join(', ')}`);
    };

    const groups = new Map<number, PodState[]>();
    for (const pod of pods) {
      const delay = options.startDelays?.get(pod.ctx.index) ?? 0;
      groups.set(delay, [...(groups.get(delay) ?? []), pod]);
    }
    const lead = publishDelayMs < 0 ? -publishDelayMs : 0;
    // Each pod's record comes `publishDelayMs` after that pod started, as a pod becomes Ready some time
    // after its own start (when pods were started by spawning, a group's starts spread over seconds, and
    // records timed from the group's scheduled start came 3 s after the first pods started, not 1 s). One
    // update at a time: the pods that came due while one was in flight go together in the next.
    let due: PodState[] = [];
    let publishing: Promise<void> = Promise.resolve();
    const publishDue = (pod: PodState): Promise<void> => {
      due.push(pod);
      publishing = publishing.then(() => {
        const batch = due;
        due = [];
        return publishPods(batch);
      });
      return publishing;
    };
    for (const [delay, group] of [...groups].sort((a, b) => a[0] - b[0])) {
      const startGroup = async () => {
        if (delay > 0) event(`starting ${group.map((p) => p.ctx.hostname).join(', ')}`);
        for (const pod of group) {
          start(pod);
          if (lead === 0) at(pod.startedAtMs + publishDelayMs, () => publishDue(pod));
        }
      };
      if (lead > 0) {
        // The record first, the pod once it is committed.
        at(delay, async () => {
          await publishPods(group);
          await startGroup();
        });
      } else {
        at(delay, startGroup);
      }
    }
    const restart = options.restart;
    if (restart !== undefined) {
      at(restart.atMs, async () => {
        const pod = pods[restart.index];
        if (pod === undefined)
          throw new RangeError(`restart index ${restart.index} is outside 0-${options.n - 1}`);
        const old = pod.netnsPod;
        if (pod.child?.pid !== undefined) pod.cpu += processGroupCpu(pod.child.pid);
        pod.incarnation++;
        cluster.removePod(old);
        if (restart.stranger) {
          const [taken] = await cluster.addPods([{ hostname: 'stranger', search, address: old.address }]);
          const child = cluster.spawnInPod(taken!, restart.stranger, { stdio: ['ignore', 'pipe', 'pipe'] });
          const say = (line: string) => event(`stranger at ${old.address}: ${line}`);
          createInterface({ input: child.stdout! }).on('line', say);
          createInterface({ input: child.stderr! }).on('line', say);
        }
        const [fresh] = await cluster.addPods([specs[restart.index]!]);
        pod.netnsPod = fresh!;
        event(
          `restarted ${pod.ctx.hostname}: ${old.address} → ${fresh!.address}; old record still served${restart.stranger ? ', a stranger holds the old address' : ''}`,
        );
        spawnHeld(pod);
        await untilHeld(pod.child!);
        start(pod);
        at(now() + Math.max(0, publishDelayMs), async () => {
          await publishPods([pod]);
          at(
            now() + restart.staleMs,
            async () => {
              await server.withdraw(old);
              event(`removed stale record ${old.fqdn} → ${old.address}`);
            },
            false,
          );
        });
      });
    }

    let capped = false;
    at(
      now() + options.capMs,
      () => {
        capped = true;
      },
      false,
    );
    const onAbort = () => run.wake();
    options.signal?.addEventListener('abort', onAbort);
    try {
      while (!capped && run.failure === undefined && !options.signal?.aborted) {
        if (run.pending === 0 && pods.every((p) => p.done)) break;
        await run.next();
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    if (run.failure !== undefined) throw run.failure;
    options.signal?.throwIfAborted();
    for (const pod of pods) {
      if (!pod.done && pod.child?.pid !== undefined) pod.cpu += processGroupCpu(pod.child.pid);
    }
    const { queries, cache, replies, cpuSeconds: dnsCpuSeconds } = counted();
    return {
      pods: pods.map((p) => ({
        index: p.ctx.index,
        hostname: p.ctx.hostname,
        address: p.netnsPod.address,
        startedAtMs: p.startedAtMs,
        releasedAtMs: p.releasedAtMs,
        firstLineAtMs: p.firstLineAtMs,
        exitCode: p.done ? p.exitCode : null,
        output: p.output,
        cpuSeconds: p.cpu,
      })),
      lastPublishAtMs,
      queries,
      cache,
      cacheReplies: replies,
      podCpuSeconds: pods.reduce((sum, p) => sum + p.cpu, 0),
      dnsCpuSeconds,
      capped,
    };
  } finally {
    timeline?.clear();
    await dns?.stop();
    cluster.dispose();
    offExit();
  }
}
