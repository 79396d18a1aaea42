// `resolve <name>`: one dig-like query with the package's own stub resolver; exit code from the answer.
import type { CommandModule, Options } from 'yargs';
import { DNS_CLIENT_DEFAULTS, DnsClient, type DnsClientOptions } from '../../dns/client.js';
import { dnsClientOptionsFromResolvConf, dnsClientOptionsFromServerFlag } from '../../dns/client-options.js';
import { parseResolvConf } from '../../dns/resolv-conf.js';
import type { DnsRecord, DnsResult, QueryType } from '../../dns/types.js';
import { parseDuration } from '../../duration.js';
import { ConfigError, DnsTimeoutError, quote, UsageError } from '../../errors.js';
import { DEFAULT_PATHS, readTextFile } from '../../identity/sources.js';
import type { CliContext } from '../context.js';
import { originOf } from '../options.js';

/** Exit codes of `resolve` for answers (errors map through exit-codes.ts: 64, 78, 124). */
export const RESOLVE_EXIT = { records: 0, negative: 1, failure: 2 } as const;

interface ResolveArgs {
  name: string;
  type: QueryType;
  dnsServer?: string | undefined;
  resolvConf?: string | undefined;
  timeout?: string | undefined;
  attempts?: number | undefined;
  logFormat: 'text' | 'json';
  quiet: boolean;
}

const DNS_GROUP = 'DNS:';

/** Options of `resolve` (beside the global ones). */
export const resolveOptions = {
  type: {
    choices: ['A', 'AAAA', 'SRV'] as const,
    default: 'A',
    group: DNS_GROUP,
    describe: 'record type',
    coerce: (v: unknown) => (typeof v === 'string' ? v.toUpperCase() : v),
  },
  'dns-server': {
    type: 'string',
    group: DNS_GROUP,
    describe:
      'server(s) to ask, host[:port] or [v6]:port, comma-separated [default: resolv.conf nameservers]',
  },
  'resolv-conf': {
    type: 'string',
    group: DNS_GROUP,
    describe: `resolv.conf to take nameservers, timeout and attempts from [default: ${DEFAULT_PATHS.resolvConf}]`,
  },
  timeout: {
    type: 'string',
    group: DNS_GROUP,
    describe:
      'give up after at most this long (exit 124), shared evenly by the tries: 2s, 500ms [default: resolv.conf timeout per try, 2s with --dns-server]',
  },
  attempts: {
    type: 'number',
    group: DNS_GROUP,
    describe: 'rounds over all servers [default: resolv.conf attempts, 2 with --dns-server]',
  },
} satisfies Record<string, Options>;

/** The `resolve` command module. */
export function resolveCommand(ctx: CliContext): CommandModule<object, ResolveArgs> {
  return {
    command: 'resolve <name>',
    describe:
      'ask one DNS question like dig (absolute name, no search list); exit 0 records, 1 NXDOMAIN/NODATA, 2 SERVFAIL/REFUSED, 124 no answer',
    builder: (y) =>
      y
        .positional('name', {
          type: 'string',
          describe: 'name to ask for; a trailing dot is added if missing',
        })
        .options(resolveOptions) as never,
    handler: async (args) => {
      const { name, note } = absolute(args.name);
      const options = clientOptions(ctx, args);
      const client = new DnsClient(options);
      let result: DnsResult;
      try {
        result = await client.query(name, args.type);
      } finally {
        await client.close();
      }
      if (!args.quiet)
        ctx.io.stdout(
          args.logFormat === 'json'
            ? `${JSON.stringify(resolveJson(result, args.name, note))}\n`
            : resolveText(result, note),
        );
      switch (result.kind) {
        case 'records':
          ctx.exitCode = RESOLVE_EXIT.records;
          break;
        case 'nxdomain':
        case 'nodata':
          ctx.exitCode = RESOLVE_EXIT.negative;
          break;
        case 'servfail':
        case 'refused':
        case 'error':
          ctx.exitCode = RESOLVE_EXIT.failure;
          break;
        case 'timeout':
          throw new DnsTimeoutError(
            `no answer for ${name} ${args.type} from ${[...new Set(result.servers)].join(', ')} (${tries(result.servers.length)}${result.reason ? `, last error ${result.reason}` : ''})`,
            { servers: result.servers },
          );
      }
    },
  };
}

/** Make a name absolute; `note` says so when a dot was added (the tool never uses the search list). */
function absolute(raw: unknown): { name: string; note: string | undefined } {
  const name = String(raw ?? '');
  if (name === '') throw new UsageError('resolve needs a name, e.g. job-0.svc.default.svc.cluster.local.');
  if (name.endsWith('.')) return { name, note: undefined };
  return {
    name: `${name}.`,
    note: `${quote(name)} has no trailing dot: asked for the absolute name ${quote(`${name}.`)} (no search list)`,
  };
}

/**
 * Client options from --dns-server (flag or env), else from the resolv.conf file. `--timeout` is the whole
 * budget, as for the other commands (a duration; a bare number is seconds): each of the attempts × servers
 * tries waits at most its even share of it.
 */
function clientOptions(ctx: CliContext, args: ResolveArgs): DnsClientOptions {
  const overrides: { attempts?: number } = {};
  if (args.attempts !== undefined) {
    if (!Number.isInteger(args.attempts) || args.attempts < 1 || args.attempts > 10) {
      throw new UsageError(
        `${originOf(ctx, 'attempts')} ${quote(args.attempts)} is not a number of attempts: expected 1 to 10`,
      );
    }
    overrides.attempts = args.attempts;
  }
  let options: DnsClientOptions;
  if (args.dnsServer !== undefined) {
    options = dnsClientOptionsFromServerFlag(args.dnsServer, originOf(ctx, 'dns-server'), overrides);
  } else {
    const path = args.resolvConf ?? DEFAULT_PATHS.resolvConf;
    const read = ctx.io.sources?.readFile ?? readTextFile;
    const text = read(path);
    if (text === undefined) {
      throw new ConfigError(
        `cannot read ${path} (${originOf(ctx, 'resolv-conf')}); pass --dns-server host:port`,
        {
          value: path,
          source: originOf(ctx, 'resolv-conf'),
        },
      );
    }
    options = dnsClientOptionsFromResolvConf(parseResolvConf(text), path, overrides);
  }
  if (args.timeout === undefined) return options;
  const budget = parseDuration(args.timeout, originOf(ctx, 'timeout'));
  if (budget < 1) {
    throw new ConfigError(
      `duration ${quote(args.timeout)} from ${originOf(ctx, 'timeout')} must be at least 1ms`,
      {
        value: args.timeout,
        source: originOf(ctx, 'timeout'),
      },
    );
  }
  // The budget caps the tries, it never stretches them: PEER_RENDEZVOUS_TIMEOUT=10m (the agent's) keeps 5 s tries.
  const tries = (options.attempts ?? DNS_CLIENT_DEFAULTS.attempts) * options.servers.length;
  const perTry = options.timeoutMs ?? DNS_CLIENT_DEFAULTS.timeoutMs;
  return { ...options, timeoutMs: Math.max(1, Math.min(perTry, Math.floor(budget / tries))) };
}

const STATUS: Record<DnsResult['kind'], string> = {
  records: 'NOERROR',
  nodata: 'NOERROR',
  nxdomain: 'NXDOMAIN',
  servfail: 'SERVFAIL',
  refused: 'REFUSED',
  error: 'ERROR',
  timeout: 'TIMEOUT',
};

/** The rcode name for a result. */
function statusOf(result: DnsResult): string {
  return 'rcode' in result ? result.rcode : STATUS[result.kind];
}

/** The JSON object `resolve --log-format json` prints. */
export function resolveJson(
  result: DnsResult,
  asked: string,
  note: string | undefined,
): Record<string, unknown> {
  const base = {
    name: result.name,
    asked,
    type: result.type,
    result: result.kind,
    status: statusOf(result),
    elapsedMs: result.elapsedMs,
    ...(note === undefined ? {} : { note }),
  };
  switch (result.kind) {
    case 'records':
      return {
        ...base,
        authoritative: result.authoritative,
        ttl: result.ttl,
        records: result.records,
        additional: result.additional,
        server: result.server,
        transport: result.transport,
      };
    case 'nxdomain':
    case 'nodata':
      return {
        ...base,
        authoritative: result.authoritative,
        negativeTtl: result.negativeTtl ?? null,
        ...(result.cnameLoop === undefined ? {} : { cnameLoop: result.cnameLoop }),
        server: result.server,
        transport: result.transport,
      };
    case 'servfail':
    case 'refused':
    case 'error':
      return { ...base, server: result.server, transport: result.transport };
    case 'timeout':
      return { ...base, servers: result.servers, reason: result.reason ?? 'timeout' };
  }
}

/** The dig-like text report. */
export function resolveText(result: DnsResult, note: string | undefined): string {
  const out: string[] = [`; peer-rendezvous resolve ${result.name} ${result.type}`];
  if (note !== undefined) out.push(`; note: ${note}`);
  if (result.kind === 'timeout') {
    out.push(`;; no answer: ${tries(result.servers.length)} to ${[...new Set(result.servers)].join(', ')}`);
    out.push(`;; last error: ${result.reason ?? 'timeout'}`);
    out.push(`;; Query time: ${formatMs(result.elapsedMs)}`);
    return `${out.join('\n')}\n`;
  }
  const aa = 'authoritative' in result && result.authoritative ? ' aa' : '';
  const answers = result.kind === 'records' ? result.records.length : 0;
  out.push(`;; ->>HEADER<<- status: ${statusOf(result)}, flags:${aa}; ANSWER: ${answers}`);
  if (result.kind === 'records') {
    out.push('', ';; ANSWER SECTION:', ...result.records.map(recordLine));
    if (result.additional.length > 0)
      out.push('', ';; ADDITIONAL SECTION:', ...result.additional.map(recordLine));
    out.push('', `;; TTL: ${result.ttl} s (smallest)`);
  } else if (result.kind === 'nxdomain' || result.kind === 'nodata') {
    out.push(
      '',
      `;; ${result.kind === 'nxdomain' ? 'NXDOMAIN: the name does not exist' : result.cnameLoop !== undefined ? `CNAME loop: ${result.cnameLoop.join(' -> ')} (no ${result.type} record can be reached)` : `NODATA: the name exists, no ${result.type} records`}`,
      `;; negative TTL: ${result.negativeTtl === undefined ? 'unknown (no SOA in the answer)' : `${result.negativeTtl} s (min of SOA TTL and MINIMUM)`}`,
    );
  }
  out.push(`;; SERVER: ${result.server} (${result.transport})`);
  out.push(`;; Query time: ${formatMs(result.elapsedMs)}`);
  return `${out.join('\n')}\n`;
}

function tries(n: number): string {
  return n === 1 ? '1 try' : `${n} tries`;
}

function recordLine(r: DnsRecord): string {
  const data = r.type === 'SRV' ? `${r.priority} ${r.weight} ${r.port} ${r.target}` : r.address;
  return `${r.name}\t${r.ttl}\tIN\t${r.type}\t${data}`;
}

function formatMs(ms: number): string {
  return `${ms} msec`;
}
