// The multi-process simulation: N pods as child processes of the real CLI (`run … -- <command>`, or `wait`),
// records published as pods become ready, faults fired on schedule, output prefixed, a summary at the end.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { exitCodeForSignal } from '../signals.js';
import { eventTime, type PodEvent, type SimulationFaults } from './faults.js';
import { killGroup } from './loopback.js';
import type { PodSummary, SimulationOutput } from './output.js';
import type { Placement, PodSlot } from './placement.js';
import { agentArgv, mainContainer, type PodShape, podEnv, podFiles } from './pod-shape.js';
import { Timeline } from './timeline.js';

/** Options of {@link runSimulation}. */
export interface SimulationOptions extends PodShape {
  readonly n: number;
  readonly jobName: string;
  readonly subdomain: string;
  readonly namespace: string;
  readonly zone: string;
  readonly faults: SimulationFaults;
  /** The environment the pods inherit (PATH, HOME, …); pod variables are added on top. */
  readonly env: NodeJS.ProcessEnv;
  readonly placement: Placement;
  readonly output: SimulationOutput;
  readonly signal?: AbortSignal;
}

/** The outcome: a row per pod, the exit code to return, and the DNS query count. */
export interface SimulationResult {
  readonly pods: readonly PodSummary[];
  /** 0 when every pod exited 0, else the code of the first pod that failed; 128+n when interrupted. */
  readonly exitCode: number;
  readonly queries: number;
  /** With a caching resolver: the queries it answered from its cache. */
  readonly cacheHits: number | undefined;
  readonly elapsedMs: number;
  readonly interrupted: boolean;
}

interface PodRun {
  readonly index: number;
  readonly hostname: string;
  readonly fqdn: string;
  slot: PodSlot | undefined;
  child: ChildProcess | undefined;
  /** Sidecar shape: the main container's process (`child` is the sidecar). */
  workload: ChildProcess | undefined;
  incarnation: number;
  releasedAtMs: number | undefined;
  exitCode: number | undefined;
  exitedAtMs: number | undefined;
  notes: string[];
  /** No more incarnations will come (killed for good or exited). */
  final: boolean;
}

const GRACE_MS = 2_000;

/** Run the simulation to the end (every pod exited) or until `signal` aborts it. Never throws for pod failures. */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const { n, placement, output, faults } = options;
  const svc = `${options.subdomain}.${options.namespace}.svc.${options.zone}`;
  const search = [`${options.namespace}.svc.${options.zone}`, `svc.${options.zone}`, options.zone];
  const scratch = mkdtempSync(join(tmpdir(), 'peer-rendezvous-sim-roster-'));
  const timeline = new Timeline();
  const now = () => timeline.now();
  const watchers = new Set<{ close(): void }>();
  let firstFailure: { atMs: number; code: number } | undefined;

  await placement.dns.addService({
    name: options.subdomain,
    namespace: options.namespace,
    // A sidecar barrier needs it (its pod is not Ready while it waits): manifest --sidecar sets it too.
    publishNotReadyAddresses: faults.notReadyAddresses || options.sidecar === true,
  });
  await placement.dns.setFaults({
    dropRatio: faults.dnsDrop,
    servfailRatio: faults.dnsServfail,
    staleForMs: faults.staleForMs,
    restartOverlapMs: faults.staleForMs,
  });
  const baseQueries = await placement.dns.queries();
  const baseHits = await placement.dns.cacheHits?.();

  const pods: PodRun[] = Array.from({ length: n }, (_, index) => {
    const hostname = `${options.jobName}-${index}`;
    return {
      index,
      hostname,
      fqdn: `${hostname}.${svc}`,
      slot: undefined,
      child: undefined,
      workload: undefined,
      incarnation: 0,
      releasedAtMs: undefined,
      exitCode: undefined,
      exitedAtMs: undefined,
      notes: [],
      final: false,
    };
  });

  const podRef = (pod: PodRun) => ({
    hostname: pod.hostname,
    subdomain: options.subdomain,
    namespace: options.namespace,
  });

  const publish = async (pod: PodRun, incarnation: number, ready: boolean) => {
    if (pod.incarnation !== incarnation || pod.slot === undefined || pod.final) return;
    await placement.dns.setPod({ ...podRef(pod), addresses: [pod.slot.address], ready });
    if (ready || faults.notReadyAddresses) {
      output.event(
        now(),
        `${pod.hostname}: record published → ${pod.slot.address}${ready ? '' : ' (not ready)'}`,
        true,
      );
    }
  };

  const envOf = (pod: PodRun) => podEnv(options.env, pod.index, pod.hostname, n);

  const attach = (pod: PodRun, child: ChildProcess) => {
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (source === null) continue;
      createInterface({ input: source, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
        output.podLine(pod.index, pod.hostname, stream, line),
      );
    }
  };

  // When every pod first released (release-relative faults count from it), and what schedules them.
  let releasedAllAt: number | undefined;
  let noteReleased: () => void = () => {};

  // The agent writes its --ready-file when the mesh is released: that moment is the pod's release.
  const watchReadyFile = (pod: PodRun, incarnation: number, file: string, onReady?: () => void) => {
    try {
      const w = watch(dirname(file), (_event, name) => {
        if (name !== basename(file) || pod.incarnation !== incarnation) return;
        pod.releasedAtMs ??= now();
        noteReleased();
        onReady?.();
        w.close();
        watchers.delete(w);
      });
      watchers.add(w);
    } catch {}
  };

  const onExit = (pod: PodRun, incarnation: number, code: number | null, signal: NodeJS.Signals | null) => {
    if (pod.incarnation !== incarnation) return;
    const exitCode = code ?? (signal === null ? 1 : exitCodeForSignal(signal));
    pod.exitCode = exitCode;
    pod.exitedAtMs = now();
    pod.final = true;
    if (exitCode !== 0 && firstFailure === undefined) firstFailure = { atMs: now(), code: exitCode };
    timeline.wake();
  };

  const startWorkloadAfterInit = (pod: PodRun, incarnation: number) => {
    pod.releasedAtMs ??= now();
    noteReleased();
    void publish(pod, incarnation, true).catch((error: unknown) => {
      timeline.failure ??= error;
    });
    if (options.command === undefined || options.command.length === 0) {
      onExit(pod, incarnation, 0, null);
      return;
    }
    const child = placement.spawn(pod.slot!, options.command, envOf(pod));
    pod.child = child;
    attach(pod, child);
    child.once('error', () => onExit(pod, incarnation, 127, null));
    child.once('exit', (code, signal) => onExit(pod, incarnation, code, signal));
  };

  // Sidecar shape at the release: the main container sources the env file and execs the command; when it
  // exits, the pod is done and the kubelet stops the sidecar (SIGTERM: exit 0 after the release).
  const startMainContainer = (pod: PodRun, incarnation: number, exportDir: string) => {
    if (pod.incarnation !== incarnation || pod.workload !== undefined) return;
    void publish(pod, incarnation, true).catch((error: unknown) => {
      timeline.failure ??= error;
    });
    const main = mainContainer(options.command!, exportDir, envOf(pod));
    const child = placement.spawn(pod.slot!, main.argv, main.env);
    pod.workload = child;
    attach(pod, child);
    const sidecar = pod.child;
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      if (sidecar !== undefined && sidecar.exitCode === null && sidecar.signalCode === null)
        killGroup(sidecar, 'SIGTERM');
      onExit(pod, incarnation, code, signal);
    };
    child.once('error', () => done(127, null));
    child.once('exit', done);
  };

  const start = async (pod: PodRun) => {
    const incarnation = ++pod.incarnation;
    const slot = await placement.allocate(pod.index, pod.hostname, pod.fqdn, search);
    if (pod.incarnation !== incarnation) return;
    pod.slot = slot;
    pod.exitCode = undefined;
    const readyDir = join(scratch, `${pod.hostname}-${incarnation}`);
    const { readyFile, exportDir } = podFiles(readyDir);
    const sidecar = options.sidecar === true;
    const argv = agentArgv(options, slot.agentFlags, { readyFile, exportDir });
    pod.workload = undefined;
    mkdirSync(readyDir, { recursive: true });
    watchReadyFile(
      pod,
      incarnation,
      readyFile,
      sidecar ? () => startMainContainer(pod, incarnation, exportDir) : undefined,
    );
    const child = placement.spawn(slot, argv, envOf(pod));
    pod.child = child;
    attach(pod, child);
    child.once('error', (error) => {
      output.event(now(), `${pod.hostname}: could not start ${argv[0]}: ${error.message}`);
      onExit(pod, incarnation, 127, null);
    });
    child.once('exit', (code, signal) => {
      // The sidecar ends when its pod's main container ended (or it failed before the release).
      if (sidecar && pod.workload !== undefined) return;
      if (options.initContainer && code === 0 && pod.incarnation === incarnation) {
        startWorkloadAfterInit(pod, incarnation);
        return;
      }
      onExit(pod, incarnation, code, signal);
    });
    timeline.at(now() + faults.publishDelayMs, () =>
      publish(pod, incarnation, !options.initContainer && !sidecar),
    );
  };

  for (const pod of pods) {
    const delay = faults.startDelays.get(pod.index) ?? 0;
    timeline.at(delay, async () => {
      if (delay > 0) output.event(now(), `${pod.hostname}: starting (--start-delay ${delay} ms)`);
      await start(pod);
    });
  }
  const restartPod = async (e: PodEvent): Promise<void> => {
    const pod = pods[e.index]!;
    if (pod.final && pod.exitCode !== undefined && pod.releasedAtMs !== undefined) {
      output.event(now(), `${pod.hostname}: --restart skipped, the pod already finished`);
      return;
    }
    const old = pod.slot;
    const child = pod.child;
    const workload = pod.workload;
    pod.incarnation++;
    if (workload !== undefined) killGroup(workload, 'SIGKILL');
    pod.final = false;
    pod.releasedAtMs = undefined;
    if (child !== undefined) killGroup(child, 'SIGKILL');
    if (old !== undefined) placement.retire(old);
    pod.notes.push(`restarted at ${eventTime(e)}`);
    output.event(
      now(),
      `${pod.hostname}: killed and restarted (--restart); ${old?.address ?? 'its old address'} stays served for ${faults.staleForMs} ms`,
    );
    await start(pod);
  };
  const killPod = async (e: PodEvent): Promise<void> => {
    const pod = pods[e.index]!;
    const child = pod.child;
    if (child === undefined || pod.final) {
      output.event(now(), `${pod.hostname}: --kill skipped, the pod is not running`);
      return;
    }
    output.event(now(), `${pod.hostname}: killed (--kill); its record is withdrawn`);
    pod.notes.push(`killed at ${eventTime(e)}`);
    if (pod.workload !== undefined) killGroup(pod.workload, 'SIGKILL');
    killGroup(child, 'SIGKILL');
    await placement.dns.removePod(podRef(pod));
  };
  const faultEvents = [
    ...faults.restarts.map((e) => ({ e, run: restartPod })),
    ...faults.kills.map((e) => ({ e, run: killPod })),
  ];
  for (const { e, run } of faultEvents) if (e.after === 'start') timeline.at(e.atMs, () => run(e));
  // `<i>@released+<time>`: timed from the moment every pod first released (a replacement after the release,
  // whatever the machine's speed).
  noteReleased = () => {
    if (releasedAllAt !== undefined || !pods.every((p) => p.releasedAtMs !== undefined)) return;
    releasedAllAt = now();
    for (const { e, run } of faultEvents)
      if (e.after === 'release') timeline.at(releasedAllAt + e.atMs, () => run(e));
  };
  const eventAt = (e: PodEvent): number | undefined =>
    e.after === 'start' ? e.atMs : releasedAllAt === undefined ? undefined : releasedAllAt + e.atMs;

  output.startStatus(() => {
    const running = pods.filter((p) => p.child !== undefined && !p.final).length;
    const released = pods.filter((p) => p.releasedAtMs !== undefined).length;
    const exited = pods.filter((p) => p.final).length;
    return `${(now() / 1000).toFixed(1)} s  pods: ${running} running, ${released}/${n} released, ${exited} exited  dns: ${placement.dnsLabel}`;
  });

  // A fault still to come keeps the run going (one timed from a release that never came does not).
  const pendingFaults = () =>
    faultEvents.some(({ e }) => (eventAt(e) ?? Number.NEGATIVE_INFINITY) > now() && !pods[e.index]!.final);
  let interrupted = false;
  const onAbort = () => {
    interrupted = true;
    timeline.wake();
  };
  options.signal?.addEventListener('abort', onAbort);
  try {
    if (options.signal?.aborted) interrupted = true;
    while (!interrupted && timeline.failure === undefined) {
      if (pods.every((p) => p.final) && !pendingFaults()) break;
      await timeline.next();
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    timeline.clear();
    for (const w of watchers) w.close();
    if (interrupted || timeline.failure !== undefined) await stopAll(pods, output, now);
  }
  const queries = (await placement.dns.queries()) - baseQueries;
  const hits = await placement.dns.cacheHits?.();
  const cacheHits = hits === undefined || baseHits === undefined ? undefined : hits - baseHits;
  rmSync(scratch, { recursive: true, force: true });
  if (timeline.failure !== undefined) throw timeline.failure;
  const signalCode = options.signal?.reason instanceof Error ? undefined : options.signal?.reason;
  const exitCode = interrupted
    ? typeof signalCode === 'string'
      ? exitCodeForSignal(signalCode as NodeJS.Signals)
      : 130
    : (firstFailure?.code ?? 0);
  return {
    pods: pods.map((p) => ({
      hostname: p.hostname,
      address: p.slot?.address ?? '-',
      releasedAtMs: p.releasedAtMs,
      exitCode: p.exitCode,
      note: [...p.notes, ...(p.slot === undefined ? ['not started'] : [])].join(', '),
    })),
    exitCode,
    queries,
    cacheHits,
    elapsedMs: now(),
    interrupted,
  };
}

// SIGTERM every pod's process group, SIGKILL what is left after a grace period.
async function stopAll(pods: readonly PodRun[], output: SimulationOutput, now: () => number): Promise<void> {
  const live = pods.filter(
    (p) => p.child !== undefined && p.child.exitCode === null && p.child.signalCode === null,
  );
  if (live.length === 0) return;
  output.event(now(), `stopping ${live.length} pod(s)`);
  const exited = live.map((p) => new Promise<void>((resolve) => p.child!.once('exit', () => resolve())));
  for (const p of pods) {
    const w = p.workload;
    if (w !== undefined && w.exitCode === null && w.signalCode === null) killGroup(w, 'SIGTERM');
  }
  for (const p of live) killGroup(p.child!, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'grace'>((resolve) => {
    timer = setTimeout(() => resolve('grace'), GRACE_MS);
  });
  const outcome = await Promise.race([Promise.all(exited), grace]);
  clearTimeout(timer);
  if (outcome === 'grace') for (const p of live) killGroup(p.child!, 'SIGKILL');
}
