// The `simulate` command's body: pick the placement, wire Ctrl-C, run, print the summary.

import { ConfigError, UsageError } from '../errors.js';
import { checkTokenLength } from '../rendezvous/auth.js';
import type { SelfCommand } from '../self-command.js';
import { exitCodeForSignal, STOP_SIGNALS } from '../signals.js';
import type { SimulateArgs, SimulateIo } from './args.js';
import { parseFaults } from './faults.js';
import { createLoopbackPlacement } from './loopback.js';
import { SimulationOutput, simJson } from './output.js';
import type { Placement } from './placement.js';
import { runSimulation } from './simulation.js';

export { serveDnsChild } from './dns-child.js';

/** Run `simulate` and return the exit code. */
export async function runSimulateCommand(
  io: SimulateIo,
  args: SimulateArgs & { n: number },
  command: readonly string[],
  self: SelfCommand,
): Promise<number> {
  const faults = parseFaults(args, args.n);
  if (args.inProcess) {
    if (command.length > 0) {
      throw new UsageError('--in-process runs no workload: drop the command after --, or drop --in-process');
    }
    const { runInProcess } = await import('./in-process.js');
    return runInProcess(io, args, faults);
  }
  if (args.sidecar && (args.inProcess || args.initContainer)) {
    throw new UsageError('--sidecar is a pod shape of its own: drop --in-process or --init-container');
  }
  if (args.sidecar && command.length === 0) {
    throw new UsageError('--sidecar needs a command after -- (the main container, started at the release)');
  }
  if (args.initContainer && command.length === 0) {
    throw new UsageError('--init-container needs a command after -- (the main container)');
  }

  const controller = new AbortController();
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => controller.abort(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  let placement: Placement | undefined;
  const names = Array.from({ length: args.n }, (_, i) => `${args.jobName}-${i}`);
  const output = new SimulationOutput(
    {
      stdout: io.stdout,
      stderr: io.stderr,
      tty: io.isTTY,
      verbose: args.verbose,
      quiet: args.quiet,
      json: args.logFormat === 'json',
    },
    names,
  );
  try {
    const agentArgs: string[] = [];
    if (args.netns) {
      const { createNetnsPlacement } = await import('./netns-placement.js');
      placement = await createNetnsPlacement({
        zone: args.clusterDomain,
        self,
        cacheSeconds: faults.dnsCacheSeconds,
      });
    } else {
      placement = await createLoopbackPlacement({
        zone: args.clusterDomain,
        cacheSeconds: faults.dnsCacheSeconds,
      });
    }
    const port = args.port ?? placement.agentPort;
    if (port !== undefined) agentArgs.push('--port', String(port));
    agentArgs.push('--timeout', args.timeout ?? '2m');
    if (args.releasedAfter !== undefined) agentArgs.push('--released-after', args.releasedAfter);
    if (args.verify !== undefined) agentArgs.push('--verify', args.verify);
    // The token goes to the agents through their environment, never their argv (visible in /proc/<pid>/cmdline);
    // the agents drop it before the workload starts.
    const tokenEnv: NodeJS.ProcessEnv = {};
    if (args.token === '')
      throw new ConfigError('--token is empty: expected the shared secret, or leave it out');
    if (args.token !== undefined) checkTokenLength(args.token, '--token');
    if (args.token !== undefined) tokenEnv.PEER_RENDEZVOUS_TOKEN = args.token;
    // On loopback a workload's resolver is the machine's, which knows none of the pods' names: hand over the
    // addresses instead (and no cluster name leaks to the machine's DNS).
    agentArgs.push('--peer-address', args.peerAddress ?? (args.netns ? 'fqdn' : 'ip'));
    if (args.export !== undefined && command.length > 0 && !args.initContainer)
      agentArgs.push('--export', args.export);
    agentArgs.push('--progress-interval', args.verbose ? '2s' : '5s');
    if (args.quiet) agentArgs.push('--quiet');
    if (args.verbose) agentArgs.push('--verbose');
    if (args.logFormat === 'json') agentArgs.push('--log-format', 'json');

    if (!args.quiet) {
      const banner = `${args.n} pods of job ${args.jobName} (${placement.kind}), cluster DNS ${placement.dnsLabel}, ${command.length > 0 ? `workload: ${command.join(' ')}` : 'no workload (wait)'}`;
      io.stderr(args.logFormat === 'json' ? simJson(banner) : `simulate: ${banner}\n`);
    }
    const result = await runSimulation({
      n: args.n,
      jobName: args.jobName,
      subdomain: args.subdomain,
      namespace: args.namespace,
      zone: args.clusterDomain,
      command: command.length > 0 ? command : undefined,
      initContainer: args.initContainer,
      sidecar: args.sidecar,
      agentArgs,
      faults,
      self,
      env: { ...podBaseEnv(io.env), ...tokenEnv },
      placement,
      output,
      signal: controller.signal,
    });
    const released = result.pods.filter((p) => p.releasedAtMs !== undefined).length;
    output.summary(result.pods, [
      `${released}/${args.n} released, ${result.pods.filter((p) => p.exitCode === 0).length}/${args.n} exited 0, ${result.queries} DNS queries${result.cacheHits === undefined ? '' : ` (${result.cacheHits} answered from the cache)`}, ${(result.elapsedMs / 1000).toFixed(2)} s${result.interrupted ? ' (interrupted)' : ''}`,
    ]);
    if (result.interrupted && typeof controller.signal.reason === 'string') {
      return exitCodeForSignal(controller.signal.reason as NodeJS.Signals);
    }
    return result.exitCode;
  } finally {
    output.close();
    await placement?.close();
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}

/** The environment pods inherit: the caller's, without values that would override the simulated pod's own. */
export function podBaseEnv(env: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (key.startsWith('PEER_RENDEZVOUS_') || key === 'JOB_COMPLETION_INDEX' || key === 'HOSTNAME') continue;
    out[key] = value;
  }
  return out;
}
