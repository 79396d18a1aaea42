// Options of the commands that wait for the mesh (wait, run, env), and the shared waiting logic:
// signals → exit 128+n, progress lines, the timeout report (termination-log.ts), --ready-file; the workload's env.
import { renameSync, writeFileSync } from 'node:fs';
import type { Options } from 'yargs';
import { DEFAULT_PORT } from '../defaults.js';
import { dnsClientOptionsFromServerFlag } from '../dns/client-options.js';
import { formatMs, parseDuration } from '../duration.js';
import { AbortedError, quote, RendezvousError, UsageError } from '../errors.js';
import { exitCodeFor } from '../exit-codes.js';
import type { Identity } from '../identity/identity.js';
import type { ProgressEvent } from '../rendezvous/agent.js';
import { RendezvousTimeoutError } from '../rendezvous/errors.js';
import { describeState, type PeerReport } from '../rendezvous/peer-state.js';
import { formatVerifyMode, parseVerifyMode } from '../rendezvous/verify.js';
import type { WaitResult } from '../rendezvous/wait.js';
import { STOP_SIGNALS } from '../signals.js';
import type { CliContext } from './context.js';
import {
  envNameFor,
  flagGiven,
  type IdentityArgs,
  identityFromArgs,
  identityOptions,
  originOf,
} from './options.js';
import { timeoutSummary, writeTerminationLog } from './termination-log.js';
import { tokenFromArgs } from './token.js';

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
  'peer-address': {
    type: 'string',
    group: GROUP,
    choices: ['fqdn', 'ip'],
    default: 'fqdn',
    describe:
      'what the exports carry for each pod: fqdn (its DNS name, checked to resolve) | ip (the address the barrier proved; DNS only to find the coordinator)',
  },
  token: {
    type: 'string',
    group: GROUP,
    describe:
      'shared secret, at least 16 random bytes (openssl rand -hex 16); peers prove they know it (HMAC-SHA256), it never crosses the wire (prefer --token-file: argv is visible in /proc)',
  },
  'token-file': {
    type: 'string',
    group: GROUP,
    describe: 'read the shared secret from this file (a mounted Secret; one trailing newline dropped)',
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
  peerAddress: 'fqdn' | 'ip';
  timeout: string;
  dnsServer?: string | undefined;
  token?: string | undefined;
  tokenFile?: string | undefined;
  readyFile?: string | undefined;
  releasedAfter?: string | undefined;
  progressInterval: string;
  terminationLog: string;
  quiet: boolean;
  verbose: boolean;
  logFormat: 'text' | 'json';
}

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
  const token = tokenFromArgs(ctx, args);
  if (!Number.isInteger(args.port) || args.port < 1 || args.port > 65535) {
    // A usage error (64) from a flag or env alike, as for every port option (export-options.ts), naming what
    // was written: yargs turns `--port abc` into NaN.
    const origin = originOf(ctx, 'port');
    const written = Number.isNaN(args.port) ? (lastFlagValue(ctx.argv, 'port') ?? 'NaN') : String(args.port);
    throw new UsageError(
      `port ${quote(written)} from ${origin} is not valid: expected an integer from 1 to 65535`,
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
  const handlers: (readonly [NodeJS.Signals, () => void])[] = STOP_SIGNALS.map((s) => {
    const h = (): void => onSignal(s);
    process.on(s, h);
    return [s, h] as const;
  });
  // SIGUSR1 would open Node's inspector on 127.0.0.1:9229 (and through it the token): a listener replaces
  // that. While waiting it prints who is missing now, as the progress line does; after release it is ignored.
  const onUsr1 = (): void => {
    if (!released) report(true);
  };
  process.on('SIGUSR1', onUsr1);
  handlers.push(['SIGUSR1', onUsr1]);
  let held = false;
  const releaseSignals = (): void => {
    for (const [s, h] of handlers) process.off(s, h);
  };
  const log = logger(ctx, args);
  for (const w of identity.warnings) log.warn(w);
  if (flagGiven(ctx.argv, 'token'))
    log.warn(
      'the --token value is visible to every process of the pod in /proc/<pid>/cmdline while waiting: prefer --token-file (a mounted Secret) or PEER_RENDEZVOUS_TOKEN',
    );
  log.info(
    `index ${identity.index.value} of ${identity.completions.value} (${identity.provider.value}), verify ${formatVerifyMode(verify)}${args.peerAddress === 'ip' ? ', peer address ip' : ''}, port ${args.port}, coordinator ${identity.coordinator}`,
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
    else if (e.type === 'notice') log.info(e.message);
  };
  /** The progress line; `asked` (SIGUSR1) prints it even when no peer is known to be missing yet. */
  function report(asked: boolean): void {
    const missing = [...states.values()].filter((p) => p.state !== 'ready');
    if (missing.length === 0) {
      if (asked) log.info(`waiting${status ? ` (${status})` : ''}`);
      return;
    }
    const shown = missing
      .slice(0, 5)
      .map((p) => `${p.index} ${describeState(p, Date.now())}`)
      .join('; ');
    log.info(
      `waiting${status ? ` (${status})` : ''}: ${shown}${missing.length > 5 ? `; +${missing.length - 5} more` : ''}`,
    );
  }
  const ticker = progressMs > 0 ? setInterval(() => report(false), progressMs) : undefined;
  ticker?.unref();
  try {
    const { waitForPeers } = await import('../rendezvous/wait.js');
    const mesh = await waitForPeers(
      {
        port: args.port,
        listen: args.listen,
        verify,
        peerAddress: args.peerAddress === 'ip' ? 'ip' : 'fqdn',
        timeoutMs,
        dnsServer: args.dnsServer,
        resolvConf: args.resolvConf,
        token,
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
      `released after ${formatMs(mesh.timings.releasedMs)} (ready after ${formatMs(mesh.timings.readyMs)}): ${mesh.peers.length} pods, generation ${mesh.generation}, ${mesh.stats.dnsQueries} DNS queries, ${mesh.stats.connections} connections${mesh.stats.datagrams > 0 ? `, ${mesh.stats.datagrams} probe datagrams` : ''}`,
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
      writeTerminationLog(args.terminationLog, summary, error);
    } else if (error instanceof AbortedError) {
      // An abort by the caller's own signal (the sidecar stops a barrier it no longer needs) is no failure.
      if (!hooks.signal?.aborted)
        writeTerminationLog(args.terminationLog, `peer-rendezvous: ${error.message}`, error);
    } else if (error instanceof RendezvousError && error.code === 'RDV_ERR_RELEASED') {
      writeTerminationLog(args.terminationLog, `peer-rendezvous: ${error.message} [${error.code}]`, error);
    }
    throw error;
  } finally {
    if (ticker) clearInterval(ticker);
    if (!held) releaseSignals();
  }
}

/** What the last `--key value` / `--key=value` before `--` says, as written. */
function lastFlagValue(argv: readonly string[], key: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const a = argv[i]!;
    if (a === `--${key}`) value = argv[i + 1];
    else if (a.startsWith(`--${key}=`)) value = a.slice(key.length + 3);
  }
  return value;
}

/**
 * The environment for the workload: `env` without the PEER_RENDEZVOUS_* variables of the options in `options`
 * (what the agent consumed: its token among them), unless `keep`.
 */
export function workloadEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: Readonly<Record<string, unknown>>,
  keep: boolean,
): Record<string, string> {
  const consumed = keep ? new Set<string>() : agentEnvNames(env, options);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !consumed.has(k)) out[k] = v;
  return out;
}

/** The PEER_RENDEZVOUS_* variables set in `env` that name one of `options` (the ones the agent read). */
export function agentEnvNames(
  env: Readonly<Record<string, string | undefined>>,
  options: Readonly<Record<string, unknown>>,
): Set<string> {
  const names = new Set<string>();
  for (const key of Object.keys(options)) {
    const name = envNameFor(key);
    if (env[name] !== undefined) names.add(name);
  }
  return names;
}

/** `--keep-agent-env`, of the commands that hand over to a workload (run, env). */
export const keepAgentEnvOption = {
  'keep-agent-env': {
    type: 'boolean',
    default: false,
    group: 'Hand-over:',
    describe:
      "pass the agent's own PEER_RENDEZVOUS_* variables (the token among them) on to the workload [default: removed]",
  },
} satisfies Record<string, Options>;

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
