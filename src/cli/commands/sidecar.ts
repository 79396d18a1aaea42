// `sidecar`: the barrier in a container that stays up (a native sidecar: an init container with
// restartPolicy: Always). Exports go to --export-dir, GET /readyz turns 200 at the release (the startupProbe
// holds the main containers back until then), and after the release a small listener lets a replacement pod's
// sidecar rejoin: it gets the released roster and generation (src/rendezvous/after-release-server.ts).
import { join } from 'node:path';
import type { CommandModule, Options } from 'yargs';
import { formatMs } from '../../duration.js';
import { AbortedError, ConfigError, quote } from '../../errors.js';
import { writeExportFiles } from '../../exec/write-files.js';
import { formatClock } from '../../rendezvous/after-release.js';
import {
  AfterReleaseServer,
  type JobEndpoint,
  type Recovered,
  type ReleasedState,
  recoverReleased,
} from '../../rendezvous/after-release-server.js';
import { LookupGate } from '../../rendezvous/lookup.js';
import type { Mesh, PeerInfo } from '../../rendezvous/types.js';
import { parseVerifyMode } from '../../rendezvous/verify.js';
import { createResolver, headlessService } from '../../rendezvous/wait.js';
import { DEFAULT_EXPORT_DIR, writeExportDir } from '../../sidecar/export-dir.js';
import { ProbeServer } from '../../sidecar/probe.js';
import { STOP_SIGNALS } from '../../signals.js';
import type { CliContext } from '../context.js';
import { type ExportArgs, exportOptions, exportOptionsFromArgs } from '../export-options.js';
import { identityFromArgs, originOf } from '../options.js';
import { logger, type RendezvousArgs, rendezvousOptions, waitFromArgs } from '../rendezvous-options.js';
import { tokenFromArgs } from '../token.js';

/** Default of `--probe-port`: next to the agent's 29600. */
export const DEFAULT_PROBE_PORT = 29601;

interface SidecarArgs extends RendezvousArgs, ExportArgs {
  exportDir: string;
  probePort: number;
}

const GROUP = 'Sidecar:';

export const sidecarOptions = {
  ...rendezvousOptions,
  ...exportOptions,
  'export-dir': {
    type: 'string',
    group: GROUP,
    default: DEFAULT_EXPORT_DIR,
    describe:
      'where env, env.json, roster.json and the hostfiles go (a volume shared with the main containers)',
  },
  'probe-port': {
    type: 'number',
    group: GROUP,
    default: DEFAULT_PROBE_PORT,
    describe: 'HTTP port of GET /readyz (503 before the release, 200 after) for the startupProbe',
  },
} satisfies Record<string, Options>;

export function sidecarCommand(ctx: CliContext): CommandModule<object, SidecarArgs> {
  return {
    command: 'sidecar',
    describe:
      'the barrier as a native sidecar: exports into --export-dir, /readyz 200 once released, replacement pods rejoin',
    builder: (y) => y.options(sidecarOptions) as never,
    handler: async (args) => {
      ctx.exitCode = await runSidecar(ctx, args);
    },
  };
}

async function runSidecar(ctx: CliContext, args: SidecarArgs): Promise<number> {
  const log = logger(ctx, args);
  const options = exportOptionsFromArgs(ctx, args);
  // 0: any free port (simulate, tests); the log line says which.
  if (
    !Number.isInteger(args.probePort) ||
    args.probePort < 0 ||
    args.probePort > 65535 ||
    args.probePort === args.port
  ) {
    throw new ConfigError(
      `probe port ${quote(args.probePort)} from ${originOf(ctx, 'probe-port')} is not valid: expected an integer from 1 to 65535 (0: any free port), not the rendezvous --port`,
      { value: String(args.probePort), source: originOf(ctx, 'probe-port') },
    );
  }
  if (!args.exportDir)
    throw new ConfigError('--export-dir is empty: expected a directory', {
      source: originOf(ctx, 'export-dir'),
    });
  const identity = identityFromArgs(ctx, args);
  // --token or --token-file (a mounted Secret), read once: the barrier and the after-release listener share it.
  const token = tokenFromArgs(ctx, args);
  const verify = parseVerifyMode(args.verify, originOf(ctx, 'verify'));
  const barrier = verify.kind === 'star' || verify.kind === 'mesh';
  const index = identity.index.value;
  const n = identity.completions.value;
  const startedAt = Date.now();

  // After the release a signal ends the sidecar with 0; before, waitFromArgs turns it into 128+n. In between
  // (files being written) it is remembered, and nothing is marked ready.
  let phase: 'waiting' | 'settled' | 'ready' = 'waiting';
  let interrupted: NodeJS.Signals | undefined;
  let stop!: (signal: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    stop = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    if (phase === 'ready') stop(signal);
    else if (phase === 'settled') interrupted ??= signal;
  };
  const handlers = STOP_SIGNALS.map((s) => {
    const h = (): void => onSignal(s);
    process.on(s, h);
    return [s, h] as const;
  });

  const probe = new ProbeServer();
  const resolver = createResolver(identity, { dnsServer: args.dnsServer, resolvConf: args.resolvConf });
  const gate = new LookupGate(resolver, 10);
  let server: AfterReleaseServer | undefined;
  try {
    const probePort = await probe.start(args.probePort, args.listen);

    // A replacement pod 0 asks the members' sidecars whether the job was released already, while its own
    // barrier runs; whichever finishes first wins.
    const barrierAbort = new AbortController();
    const recoverAbort = new AbortController();
    let recovered: Recovered | undefined;
    const endpoint: JobEndpoint = {
      completions: n,
      peers: identity.peers,
      jobKey: identity.jobKey,
      token,
      port: args.port,
      listen: args.listen,
      handshakeTimeoutMs: 5000,
      gate,
    };
    const recovery =
      index === 0 && barrier && n > 1
        ? recoverReleased({
            ...endpoint,
            serviceName: headlessService(identity),
            signal: recoverAbort.signal,
          }).then((r) => {
            if (r && !barrierAbort.signal.aborted) {
              recovered = r;
              barrierAbort.abort(new AbortedError('the job was released already: rejoined it'));
            }
          })
        : Promise.resolve();
    let mesh: Mesh;
    try {
      // The ready file is written here, after the exports, not by the barrier.
      // Released sidecars keep answering, so refused ports never mean "released" here: the late-pod verdict
      // of exec mode would only misread a slow start. Off unless asked for.
      const releasedAfter = originOf(ctx, 'released-after').startsWith('default') ? '0' : args.releasedAfter;
      mesh = (
        await waitFromArgs(
          ctx,
          { ...args, token, tokenFile: undefined, readyFile: undefined, releasedAfter },
          { signal: barrierAbort.signal },
        )
      ).mesh;
    } catch (error) {
      if (!recovered) throw error;
      mesh = recoveredMesh(identity.peers, index, recovered, args.port, startedAt);
      log.info(
        `this pod replaces index 0 of a released job: rejoined with generation ${mesh.generation}, roster from pod ${recovered.from.index} at ${recovered.from.address}`,
      );
    } finally {
      recoverAbort.abort();
      await recovery;
    }
    phase = 'settled';

    if (barrier) {
      const state: ReleasedState = {
        generation: mesh.generation,
        releasedAt: Date.now(),
        addresses: mesh.peers.map((p) => [...p.addresses]),
      };
      server = new AfterReleaseServer({
        ...endpoint,
        index,
        state,
        log: (line) => log.warn(line),
      });
      server.onRejoined((r) =>
        log.info(
          `pod ${r.index} was replaced: it rejoined from ${r.address}${r.previous.length ? ` (was ${r.previous.join(', ')})` : ''} at ${formatClock(Date.now())} and got the released roster, generation ${state.generation}; what the workload does about it is the framework's business`,
        ),
      );
      await server.start();
    }

    writeExportDir(args.exportDir, mesh, options);
    if (interrupted)
      throw new AbortedError(`interrupted by ${interrupted} after release, before the pod was marked ready`, {
        signal: interrupted,
      });
    const roster = `${JSON.stringify({ generation: mesh.generation, self: index, peers: mesh.peers }, null, 2)}\n`;
    if (args.readyFile) writeExportFiles([{ path: args.readyFile, content: roster }]);
    probe.markReady(roster);
    phase = 'ready';
    log.info(
      `ready after ${formatMs(Date.now() - startedAt)}: exports in ${args.exportDir} (${join(args.exportDir, 'env')}), /readyz on port ${probePort} answers 200; staying up for replacements`,
    );

    const signal = await stopped;
    log.info(`${signal} after the release: exiting 0`);
    return 0;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    await server?.close();
    await probe.close();
    await resolver.close();
  }
}

/** The mesh of a replacement pod 0 that learned the released roster from a member. */
function recoveredMesh(
  names: readonly string[],
  index: number,
  r: Recovered,
  port: number,
  startedAt: number,
): Mesh {
  const peers: PeerInfo[] = names.map((fqdn, i) => ({ index: i, fqdn, addresses: r.addresses[i] ?? [] }));
  const ms = Date.now() - startedAt;
  return {
    self: peers[index]!,
    peers,
    coordinator: peers[0]!,
    generation: r.generation,
    port,
    timings: { startedAt, readyMs: ms, releasedMs: ms },
  };
}
