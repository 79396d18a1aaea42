// `simulate --in-process`: every agent in this Node process (waitForPeers), each on its own loopback address,
// the project's DNS server in-process too; no workload. Prints timings and counters: for scale runs.
import { randomInt } from 'node:crypto';
import { ClusterDnsServer } from '../dns/server.js';
import { formatMs, parseDuration } from '../duration.js';
import { EXIT_RELEASED, EXIT_TIMEOUT } from '../exit-codes.js';
import { type WaitResult, waitForPeers } from '../rendezvous/wait.js';
import { exitCodeForSignal, STOP_SIGNALS } from '../signals.js';
import type { SimulateArgs, SimulateIo } from './args.js';
import { eventTime, type PodEvent, type SimulationFaults } from './faults.js';
import { freePort, loopbackAddress } from './loopback.js';
import { simJson } from './output.js';

/** Run N agents in this process and return the exit code (0: all released; 124: some timed out). */
export async function runInProcess(
  io: SimulateIo,
  args: SimulateArgs & { n: number },
  faults: SimulationFaults,
): Promise<number> {
  const n = args.n;
  const zone = args.clusterDomain;
  const octet = randomInt(16, 251);
  const cache = faults.dnsCacheSeconds;
  const dns = await ClusterDnsServer.start({
    host: `127.${octet}.0.53`,
    port: 0,
    zone,
    // Like kubeadm's Corefile (`ttl 30`, `cache 30`): the zone TTL, SOA MINIMUM and the cache cap alike.
    ...(cache === undefined ? {} : { ttl: cache, cacheSeconds: cache }),
  });
  const port = args.port ?? (await freePort(`127.${octet}.0.1`));
  const timeoutMs = parseDuration(
    args.timeout ?? '2m',
    args.timeout === undefined ? 'default' : 'flag --timeout',
  );
  const releasedAfterMs =
    args.releasedAfter === undefined ? undefined : parseDuration(args.releasedAfter, 'flag --released-after');
  const controller = new AbortController();
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => controller.abort(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const timers = new Set<NodeJS.Timeout>();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const json = args.logFormat === 'json';
  const say = (text: string) => {
    if (args.quiet) return;
    io.stderr(
      json ? simJson(text, { atMs: Math.round(now()) }) : `sim | [${(now() / 1000).toFixed(2)} s] ${text}\n`,
    );
  };
  let slots = 0;
  let lastPublishMs = 0;
  const released: (number | undefined)[] = new Array(n).fill(undefined);
  const results: (WaitResult | undefined)[] = new Array(n).fill(undefined);
  const errors: (string | undefined)[] = new Array(n).fill(undefined);
  const agentAborts: AbortController[] = [];
  try {
    dns.addService({
      name: args.subdomain,
      namespace: args.namespace,
      publishNotReadyAddresses: faults.notReadyAddresses,
    });
    dns.setFaults({
      dropRatio: faults.dnsDrop,
      servfailRatio: faults.dnsServfail,
      staleForMs: faults.staleForMs,
      restartOverlapMs: faults.staleForMs,
    });
    const after = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };
    // Release-relative faults (`<i>@released+<time>`) wait for every agent to have released once; when every
    // running agent ended without that, they are skipped.
    let active = 0;
    let settleReleased!: (all: boolean) => void;
    const releasedAll = new Promise<boolean>((resolve) => {
      settleReleased = resolve;
    });
    const startAgent = (index: number): Promise<void> => {
      active++;
      const hostname = `${args.jobName}-${index}`;
      const address = loopbackAddress(octet, slots++);
      const abort = new AbortController();
      agentAborts[index] = abort;
      after(faults.publishDelayMs, () => {
        if (abort.signal.aborted) return;
        dns.setPod({
          hostname,
          subdomain: args.subdomain,
          namespace: args.namespace,
          addresses: [address],
          ready: true,
        });
        lastPublishMs = Math.max(lastPublishMs, now());
      });
      return waitForPeers(
        {
          index,
          completions: n,
          jobName: args.jobName,
          subdomain: args.subdomain,
          namespace: args.namespace,
          clusterDomain: zone,
          hostname,
          port,
          listen: address,
          verify: args.verify ?? 'star',
          timeoutMs,
          dnsServer: `${dns.address.host}:${dns.address.port}`,
          token: args.token,
          ...(releasedAfterMs === undefined ? {} : { releasedAfterMs }),
          signal: AbortSignal.any([controller.signal, abort.signal]),
        },
        { sources: { readFile: () => undefined, env: {}, hostname: () => hostname } },
      )
        .then(
          (mesh) => {
            released[index] = now();
            results[index] = mesh;
            if (released.filter((t) => t !== undefined).length === n) settleReleased(true);
          },
          (error: unknown) => {
            if (abort.signal.aborted && !controller.signal.aborted) return;
            errors[index] = `${(error as { code?: string }).code ?? 'error'}: ${(error as Error).message}`;
          },
        )
        .finally(() => {
          if (--active === 0) settleReleased(false);
        });
    };
    /** Run `fire` at the event's time; `skipped` when it is timed from a release that never came. */
    const schedule = (
      flag: '--restart' | '--kill',
      e: PodEvent,
      fire: () => void,
      skipped: () => void = () => {},
    ): void => {
      if (e.after === 'start') after(e.atMs, fire);
      else
        releasedAll.then((all) => {
          if (all) after(e.atMs, fire);
          else {
            say(`${args.jobName}-${e.index}: ${flag} at ${eventTime(e)} skipped: the job never released`);
            skipped();
          }
        });
    };
    const runs: Promise<void>[] = [];
    const startAt = (index: number, delay: number) =>
      new Promise<void>((resolve) => {
        after(delay, () => {
          if (delay > 0) say(`${args.jobName}-${index}: starting (--start-delay ${delay} ms)`);
          startAgent(index).then(resolve);
        });
      });
    for (let i = 0; i < n; i++) runs.push(startAt(i, faults.startDelays.get(i) ?? 0));
    for (const e of faults.restarts) {
      const { index } = e;
      runs.push(
        new Promise<void>((resolve) => {
          schedule(
            '--restart',
            e,
            () => {
              // After the release the replacement meets a finished barrier: it gets the verdict (exit 75 in a pod).
              const late = released[index] !== undefined;
              say(
                `${args.jobName}-${index}: restarted on a new address (--restart)${late ? ', after the release: a replacement pod' : ''}`,
              );
              agentAborts[index]?.abort();
              if (late) {
                released[index] = undefined;
                results[index] = undefined;
              }
              startAgent(index).then(resolve);
            },
            resolve,
          );
        }),
      );
    }
    for (const e of faults.kills) {
      const { index } = e;
      schedule('--kill', e, () => {
        say(`${args.jobName}-${index}: killed (--kill)`);
        agentAborts[index]?.abort();
        errors[index] = 'killed';
        dns.removePod({
          hostname: `${args.jobName}-${index}`,
          subdomain: args.subdomain,
          namespace: args.namespace,
        });
      });
    }
    say(`${n} agents in this process, port ${port}, DNS ${dns.address.host}:${dns.address.port}`);
    await Promise.all(runs);
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
  const cpu = process.cpuUsage(cpu0);
  const stats = dns.stats();
  await dns.close();
  const times = released.filter((t): t is number => t !== undefined).sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
  const after = (t: number | undefined) => (t === undefined ? '-' : formatMs(Math.max(0, t - lastPublishMs)));
  const failed = errors.map((e, i) => [i, e] as const).filter(([, e]) => e !== undefined);
  const connections = results.reduce((sum, r) => sum + (r?.stats.connections ?? 0), 0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  if (json) {
    const since = (t: number | undefined) =>
      t === undefined ? null : Math.round(Math.max(0, t - lastPublishMs));
    io.stdout(
      `${JSON.stringify({
        released: times.length,
        pods: n,
        elapsedMs: Math.round(now()),
        lastRecordMs: Math.round(lastPublishMs),
        afterLastRecordMs: { median: since(pct(50)), p90: since(pct(90)), max: since(times.at(-1)) },
        dnsQueries: stats.total,
        ...(cache === undefined ? {} : { dnsCacheSeconds: cache, dnsCacheHits: stats.cacheHits }),
        connections,
        cpuSeconds: Math.round(cpuSeconds * 100) / 100,
        rssMiB: Math.round(rssMiB),
        failed: failed.map(([i, e]) => ({ pod: `${args.jobName}-${i}`, error: e })),
      })}\n`,
    );
    if (controller.signal.aborted) return exitCodeForSignal(controller.signal.reason as NodeJS.Signals);
    return exitCodeOf(failed);
  }
  const lines = [
    `in-process: ${times.length}/${n} released in ${formatMs(now())}`,
    `  released after the last record (${formatMs(lastPublishMs)}): median ${after(pct(50))}, p90 ${after(pct(90))}, max ${after(times.at(-1))}`,
    `  DNS queries: ${stats.total} (${(stats.total / n).toFixed(1)} per pod${cache === undefined ? '' : `, ${stats.cacheHits} answered from the ${cache} s cache`}); connections: ${connections}`,
    `  CPU: ${cpuSeconds.toFixed(2)} s; RSS ${rssMiB.toFixed(0)} MiB`,
    ...failed.slice(0, 10).map(([i, e]) => `  ${args.jobName}-${i}: ${e}`),
    ...(failed.length > 10 ? [`  … ${failed.length - 10} more failed`] : []),
  ];
  io.stdout(`${lines.join('\n')}\n`);
  if (controller.signal.aborted) return exitCodeForSignal(controller.signal.reason as NodeJS.Signals);
  return exitCodeOf(failed);
}

/** 0 when all were released; 75 when every failure is a late pod's verdict; else 124. */
function exitCodeOf(failed: readonly (readonly [number, string | undefined])[]): number {
  if (failed.length === 0) return 0;
  return failed.every(([, e]) => e?.startsWith('RDV_ERR_RELEASED')) ? EXIT_RELEASED : EXIT_TIMEOUT;
}
