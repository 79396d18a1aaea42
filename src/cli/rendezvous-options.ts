// Options of the commands that wait for the mesh (wait, run, env), and the shared waiting logic:
// signals → exit 128+n, progress lines, the timeout table and hints, /dev/termination-log, --ready-file.
import { accessSync, constants as fsConstants, renameSync, writeFileSync } from 'node:fs';
import type { Options } from 'yargs';
import { dnsClientOptionsFromServerFlag } from '../dns/client-options.js';
import { formatMs, parseDuration } from '../duration.js';
import { AbortedError, ConfigError, quote, RendezvousError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import type { ProgressEvent } from '../rendezvous/agent.js';
import { RendezvousTimeoutError } from '../rendezvous/errors.js';
import { describeState, type PeerReport } from '../rendezvous/peer-state.js';
import { formatVerifyMode, parseVerifyMode } from '../rendezvous/verify.js';
import { DEFAULT_PORT, type WaitResult } from '../rendezvous/wait.js';
import type { CliContext } from './context.js';
import { exitCodeFor } from './exit-codes.js';
import { type IdentityArgs, identityFromArgs, identityOptions, originOf } from './options.js';

const GROUP = 'Rendezvous:';

/** Options of every command that waits for the mesh. */
export const rendezvousOptions = {
  ...identityOptions,
  port: {
    type: 'number',
    group: GROUP,
    default: DEFAULT_PORT,
    describe: 'rendezvous port, the same on every pod',
  },
  listen: {
    type: 'string',
    group: GROUP,
    describe: 'address to listen on and connect from [default: all addresses]',
  },
  verify: {
    type: 'string',
    group: GROUP,
    default: 'star',
    describe:
      'star: coordinator checks everyone | mesh: everyone checks everyone | dns: names resolve | tcp:<port>: names resolve and the port accepts',
  },
  timeout: {
    type: 'string',
    group: GROUP,
    default: '10m',
    describe: 'give up after this long (exit 124): 30s, 5m, 1h',
  },
  'dns-server': {
    type: 'string',
    group: GROUP,
    describe: 'DNS server(s) host:port[,host:port] [default: nameservers of resolv.conf]',
  },
  token: {
    type: 'string',
    group: GROUP,
    describe: 'shared secret; peers prove they know it (HMAC-SHA256), it never crosses the wire',
  },
  'ready-file': { type: 'string', group: GROUP, describe: 'write the roster (JSON) here once released' },
  'released-after': {
    type: 'string',
    group: GROUP,
    default: '30s',
    describe:
      'peers resolve but their agents refuse connections this long: the job was released without this pod (exit 75; 0: off)',
  },
  'progress-interval': {
    type: 'string',
    group: GROUP,
    default: '5s',
    describe: 'how often to print who is missing (0: never)',
  },
  'termination-log': {
    type: 'string',
    group: GROUP,
    default: '/dev/termination-log',
    describe: 'on failure, write the summary here if the file exists and is writable (4 KiB max)',
  },
} satisfies Record<string, Options>;

/** Parsed rendezvous options. */
export interface RendezvousArgs extends IdentityArgs {
  port: number;
  listen?: string | undefined;
  verify: string;
  timeout: string;
  dnsServer?: string | undefined;
  token?: string | undefined;
  readyFile?: string | undefined;
  releasedAfter?: string | undefined;
  progressInterval: string;
  terminationLog: string;
  quiet: boolean;
  verbose: boolean;
  logFormat: 'text' | 'json';
}

/** Signals that end the wait with exit 128+n. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'];

/** Wait for the mesh as the CLI does: identity, progress, signals, failure report. Throws on failure. */
export async function waitFromArgs(
  ctx: CliContext,
  args: RendezvousArgs,
  hooks: { signal?: AbortSignal; holdSignals?: boolean } = {},
): Promise<{ mesh: WaitResult; identity: Identity; releaseSignals: () => void }> {
  // Bad --dns-server values fail here, naming the flag or env var they came from.
  if (args.dnsServer !== undefined)
    dnsClientOptionsFromServerFlag(args.dnsServer, originOf(ctx, 'dns-server'));
  const identity = identityFromArgs(ctx, args);
  const timeoutMs = parseDuration(args.timeout, originOf(ctx, 'timeout'));
  const progressMs = parseDuration(args.progressInterval, originOf(ctx, 'progress-interval'));
  const releasedAfterMs = parseDuration(args.releasedAfter ?? '30s', originOf(ctx, 'released-after'));
  const verify = parseVerifyMode(args.verify, originOf(ctx, 'verify'));
  if (!Number.isInteger(args.port) || args.port < 1 || args.port > 65535) {
    throw new ConfigError(
      `port ${quote(args.port)} from ${originOf(ctx, 'port')} is not valid: expected an integer from 1 to 65535`,
      {
        value: String(args.port),
        source: originOf(ctx, 'port'),
      },
    );
  }
  // Signals abort the wait (exit 128+n); listen before the first line a supervisor may react to.
  const controller = new AbortController();
  // With holdSignals (`run` as the real process) the handlers outlive the wait: between release and the
  // workload a signal must still end the agent with 128+n, not meet Node's default action (which PID 1 of a
  // container does not even get: the kubelet's TERM would be lost until its KILL).
  let released = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (released) {
      const message = `interrupted by ${signal} after release, before the workload started`;
      log.error(message);
      writeTerminationLog(args.terminationLog, `peer-rendezvous: ${message}`);
      process.exit(exitCodeFor(new AbortedError(message, { signal })));
    }
    controller.abort(new AbortedError(`interrupted by ${signal} while waiting for peers`, { signal }));
  };
  const handlers = STOP_SIGNALS.map((s) => {
    const h = (): void => onSignal(s);
    process.on(s, h);
    return [s, h] as const;
  });
  let held = false;
  const releaseSignals = (): void => {
    for (const [s, h] of handlers) process.off(s, h);
  };
  const log = logger(ctx, args);
  for (const w of identity.warnings) log.warn(w);
  log.info(
    `index ${identity.index.value} of ${identity.completions.value}, verify ${formatVerifyMode(verify)}, port ${args.port}, coordinator ${identity.coordinator}`,
  );

  const states = new Map<number, PeerReport>();
  let status = '';
  const onProgress = (e: ProgressEvent): void => {
    if (e.type === 'peer') {
      states.set(e.peer.index, e.peer);
      if (args.verbose) log.info(`peer ${e.peer.index} ${e.peer.fqdn}: ${describeState(e.peer, Date.now())}`);
    } else if (e.type === 'status') status = `${e.ready}/${e.total} ready`;
    else if (e.type === 'joined' && args.verbose) log.info(`joined the coordinator at ${e.coordinator}`);
    else if (e.type === 'listening' && args.verbose) log.info(`listening on ${e.address}:${e.port}`);
    else if (e.type === 'warning') log.warn(e.message);
  };
  const ticker =
    progressMs > 0
      ? setInterval(() => {
          const missing = [...states.values()].filter((p) => p.state !== 'ready');
          if (missing.length === 0) return;
          const shown = missing
            .slice(0, 5)
            .map((p) => `${p.index} ${describeState(p, Date.now())}`)
            .join('; ');
          log.info(
            `waiting${status ? ` (${status})` : ''}: ${shown}${missing.length > 5 ? `; +${missing.length - 5} more` : ''}`,
          );
        }, progressMs)
      : undefined;
  ticker?.unref();
  try {
    const { waitForPeers } = await import('../rendezvous/wait.js');
    const mesh = await waitForPeers(
      {
        port: args.port,
        listen: args.listen,
        verify,
        timeoutMs,
        dnsServer: args.dnsServer,
        resolvConf: args.resolvConf,
        token: args.token,
        releasedAfterMs,
        signal: hooks.signal ? AbortSignal.any([hooks.signal, controller.signal]) : controller.signal,
        onProgress,
      },
      { identity },
    );
    // A signal that came while the release was on its way found the wait already settled: honour it here
    // (128+n, nothing started) instead of letting it go unheard.
    if (controller.signal.aborted) throw controller.signal.reason;
    log.info(
      `released after ${formatMs(mesh.timings.releasedMs)} (ready after ${formatMs(mesh.timings.readyMs)}): ${mesh.peers.length} pods, generation ${mesh.generation}, ${mesh.stats.dnsQueries} DNS queries, ${mesh.stats.connections} connections`,
    );
    if (args.readyFile) writeReadyFile(args.readyFile, mesh);
    released = true;
    held = hooks.holdSignals === true;
    return { mesh, identity, releaseSignals };
  } catch (error) {
    if (error instanceof RendezvousTimeoutError) {
      const summary = timeoutSummary(error);
      // The headline comes last, from main(); here the table and the hints.
      log.error(summary.slice(summary.indexOf('\n') + 1));
      writeTerminationLog(args.terminationLog, summary);
    } else if (error instanceof AbortedError) {
      // An abort by the caller's own signal (the sidecar stops a barrier it no longer needs) is no failure.
      if (!hooks.signal?.aborted)
        writeTerminationLog(args.terminationLog, `peer-rendezvous: ${error.message}`);
    } else if (error instanceof RendezvousError && error.code === 'RDV_ERR_RELEASED') {
      writeTerminationLog(args.terminationLog, `peer-rendezvous: ${error.message} [${error.code}]`);
    }
    throw error;
  } finally {
    if (ticker) clearInterval(ticker);
    if (!held) releaseSignals();
  }
}

/** The table and hints printed when the deadline passes. */
export function timeoutSummary(error: RendezvousTimeoutError): string {
  const lines = [`${error.message} [${error.code}]`, 'unfinished peers:', error.report];
  if (error.hints.length > 0) lines.push('hints:', ...error.hints.map((h) => `  - ${h}`));
  return lines.join('\n');
}

/** Write the failure summary where the kubelet reads it, if that file exists and is writable. */
function writeTerminationLog(path: string, summary: string): void {
  if (!path) return;
  try {
    accessSync(path, fsConstants.W_OK);
    const bytes = Buffer.from(summary, 'utf8');
    writeFileSync(
      path,
      bytes.length <= 4096 ? bytes : Buffer.concat([bytes.subarray(0, 4093), Buffer.from('...')]),
    );
  } catch {
    // Not in a pod, or not writable: the summary went to stderr already.
  }
}

function writeReadyFile(path: string, mesh: WaitResult): void {
  const body = { generation: mesh.generation, self: mesh.self.index, peers: mesh.peers };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`);
  // rename is atomic: readers see either nothing or the whole file.
  renameSync(tmp, path);
}

interface Logger {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

/** stderr lines: `peer-rendezvous: …` as text, or one JSON object a line. Quiet keeps errors only. */
export function logger(ctx: CliContext, args: { quiet: boolean; logFormat: 'text' | 'json' }): Logger {
  const emit = (level: string, line: string): void => {
    if (args.logFormat === 'json')
      ctx.io.stderr(`${JSON.stringify({ time: new Date().toISOString(), level, msg: line })}\n`);
    else ctx.io.stderr(`peer-rendezvous: ${level === 'info' ? '' : `${level}: `}${line}\n`);
  };
  return {
    info: (line) => {
      if (!args.quiet) emit('info', line);
    },
    warn: (line) => {
      if (!args.quiet) emit('warning', line);
    },
    error: (line) => emit('error', line),
  };
}
