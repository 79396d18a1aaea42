// Options shared by several commands, env-var fallback (PEER_RENDEZVOUS_*), and where each value came from.
import type { Argv, Options } from 'yargs';
import { quote, UsageError } from '../errors.js';
import { discoverIdentity, type Identity, type IdentityOptionName } from '../identity/identity.js';
import { PROVIDER_CHOICES } from '../identity/providers.js';
import { DEFAULT_PATHS } from '../identity/sources.js';
import type { CliContext } from './context.js';

export const ENV_PREFIX = 'PEER_RENDEZVOUS_';

/** `job-name` → `PEER_RENDEZVOUS_JOB_NAME`. */
export function envNameFor(option: string): string {
  return ENV_PREFIX + option.replace(/-/g, '_').toUpperCase();
}

/** `job-name` → `jobName`. */
export function camel(option: string): string {
  return option.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

const IDENTITY_GROUP = 'Identity (default: discovered from the pod):';
const OUTPUT_GROUP = 'Output:';

/** Options that say who this pod is; all of them are discovered when absent. */
export const identityOptions = {
  provider: {
    choices: PROVIDER_CHOICES,
    default: 'auto',
    group: IDENTITY_GROUP,
    describe: 'which controller made the pod; auto: detected from env, hostname and mounted files',
  },
  index: {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: 'completion index [default: $JOB_COMPLETION_INDEX]',
  },
  completions: {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: "number of pods (the Job's spec.completions); Kubernetes does not inject it",
  },
  'job-name': {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: 'Job name [default: hostname minus -<index>]',
  },
  subdomain: {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: 'headless Service name = pod spec.subdomain [default: from the FQDN in the hosts file]',
  },
  namespace: {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: 'namespace [default: hosts file FQDN, else the service-account namespace file]',
  },
  'cluster-domain': {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: 'cluster DNS domain [default: svc.<domain> in resolv.conf search, else cluster.local]',
  },
  peers: {
    type: 'string',
    group: IDENTITY_GROUP,
    describe:
      'explicit peer list host,host,... in index order; this pod is at its position; relative names (web-0.nginx) are completed like the search list, host. is kept',
  },
  hostname: { type: 'string', group: IDENTITY_GROUP, describe: 'use this instead of the kernel hostname' },
  'hosts-file': {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: `hosts file to read [default: ${DEFAULT_PATHS.hosts}]`,
  },
  'resolv-conf': {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: `resolv.conf to read [default: ${DEFAULT_PATHS.resolvConf}]`,
  },
  'namespace-file': {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: `service-account namespace file [default: ${DEFAULT_PATHS.namespace}]`,
  },
  'podinfo-dir': {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: `downward-API volume with labels and annotations files [default: ${DEFAULT_PATHS.podinfo}]`,
  },
  'jobset-topology': {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: 'JobSet replicated jobs in order, replicas x pods per Job: driver=1x1,workers=2x4',
  },
  replicas: {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: "StatefulSet spec.replicas, or an MPIJob's Worker replicas (the pod cannot see them)",
  },
  'ordinals-start': {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: 'StatefulSet spec.ordinals.start [default: 0]',
  },
  'volcano-tasks': {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: 'Volcano task names in rank order [default: alphabetical]',
  },
  'mpi-hostfile': {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: `MPI hostfile [default: $OMPI_MCA_orte_default_hostfile, else ${DEFAULT_PATHS.mpiHostfile}]`,
  },
  'volcano-dir': {
    type: 'string',
    group: IDENTITY_GROUP,
    describe: `where Volcano mounts <task>.host files [default: ${DEFAULT_PATHS.volcano}]`,
  },
} satisfies Record<string, Options>;

/** Options every command has. */
export const outputOptions = {
  'log-format': {
    choices: ['text', 'json'] as const,
    default: 'text',
    group: OUTPUT_GROUP,
    describe: 'output format',
  },
  quiet: { type: 'boolean', default: false, group: OUTPUT_GROUP, describe: 'print errors only' },
  verbose: { type: 'boolean', default: false, group: OUTPUT_GROUP, describe: 'print every state change' },
} satisfies Record<string, Options>;

/** Where option `key` came from: `flag --key`, `env PEER_RENDEZVOUS_KEY` or `option key` (a default). */
export function originOf(ctx: CliContext, key: string, aliases: readonly string[] = []): string {
  if (flagGiven(ctx.argv, key, aliases)) return `flag --${key}`;
  const env = envNameFor(key);
  if (ctx.io.env[env] !== undefined) return `env ${env}`;
  return `default --${key}`;
}

/** True when `--key`, `--key=…`, `--no-key` or an alias appears before `--`. */
export function flagGiven(argv: readonly string[], key: string, aliases: readonly string[] = []): boolean {
  const names = new Set([key, camel(key), ...aliases]);
  for (const arg of argv) {
    if (arg === '--') break;
    const m = /^--?(?:no-)?([^=]+)/.exec(arg);
    if (m && names.has(m[1]!)) return true;
  }
  return false;
}

/**
 * Yargs middleware: a repeated flag keeps its last value; every option not given as a flag takes
 * `PEER_RENDEZVOUS_<OPTION>` from the injected env.
 * Runs before validation, so choices and types are checked for env values too. `checkEnv` runs first
 * (parser.ts: unknown PEER_RENDEZVOUS_* names).
 */
export function envMiddleware(ctx: CliContext, checkEnv?: (env: CliContext['io']['env']) => void) {
  return (argv: Record<string, unknown>, yargs: Argv): void => {
    checkEnv?.(ctx.io.env);
    const opts = (yargs as unknown as { getOptions(): YargsOptionTable }).getOptions();
    for (const key of opts.key ? Object.keys(opts.key) : []) {
      if (key === 'help' || key === 'version' || key === '$0') continue;
      const aliases = opts.alias?.[key] ?? [];
      // A flag given twice: the last one wins, unless the option collects values (declared as an array).
      if (!opts.array?.includes(key) && Array.isArray(argv[key])) {
        const last = (argv[key] as unknown[]).at(-1);
        for (const name of [key, camel(key), ...aliases]) argv[name] = last;
      }
      if (flagGiven(ctx.argv, key, aliases)) continue;
      const name = envNameFor(key);
      const raw = ctx.io.env[name];
      if (raw === undefined) continue;
      const kind = opts.boolean?.includes(key)
        ? 'boolean'
        : opts.number?.includes(key)
          ? 'number'
          : opts.array?.includes(key)
            ? 'array'
            : 'string';
      const value = envValue(name, raw, kind);
      argv[key] = value;
      argv[camel(key)] = value;
      for (const alias of aliases) argv[alias] = value;
    }
  };
}

interface YargsOptionTable {
  key?: Record<string, unknown>;
  alias?: Record<string, string[]>;
  boolean?: string[];
  number?: string[];
  array?: string[];
}

/** The value of env var `name` for an option of this kind; throws a UsageError naming the variable. */
export function envValue(
  name: string,
  raw: string,
  kind: 'boolean' | 'number' | 'array' | 'string',
): unknown {
  if (kind === 'boolean') return parseBooleanEnv(name, raw);
  if (kind === 'number') {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) {
      throw new UsageError(`env ${name}=${quote(raw)} is not a number`);
    }
    return value;
  }
  return kind === 'array' ? raw.split(',') : raw;
}

function parseBooleanEnv(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  throw new UsageError(
    `env ${name}=${quote(raw)} is not a boolean: expected true/false, 1/0, yes/no or on/off`,
  );
}

/** Parsed identity options, as yargs gives them. */
export interface IdentityArgs {
  provider?: string | undefined;
  podinfoDir?: string | undefined;
  jobsetTopology?: string | undefined;
  replicas?: string | undefined;
  ordinalsStart?: string | undefined;
  volcanoTasks?: string | undefined;
  mpiHostfile?: string | undefined;
  volcanoDir?: string | undefined;
  index?: string | undefined;
  completions?: string | undefined;
  jobName?: string | undefined;
  subdomain?: string | undefined;
  namespace?: string | undefined;
  clusterDomain?: string | undefined;
  peers?: string | undefined;
  hostname?: string | undefined;
  hostsFile?: string | undefined;
  resolvConf?: string | undefined;
  namespaceFile?: string | undefined;
}

const IDENTITY_KEYS: Record<IdentityOptionName, string> = {
  provider: 'provider',
  jobsetTopology: 'jobset-topology',
  replicas: 'replicas',
  ordinalsStart: 'ordinals-start',
  volcanoTasks: 'volcano-tasks',
  index: 'index',
  completions: 'completions',
  jobName: 'job-name',
  subdomain: 'subdomain',
  namespace: 'namespace',
  clusterDomain: 'cluster-domain',
  peers: 'peers',
  hostname: 'hostname',
};

/** Discover the identity from parsed options and the invocation's env and files. */
export function identityFromArgs(ctx: CliContext, args: IdentityArgs): Identity {
  const origins: Partial<Record<IdentityOptionName, string>> = {};
  for (const [name, key] of Object.entries(IDENTITY_KEYS) as [IdentityOptionName, string][]) {
    origins[name] = originOf(ctx, key);
  }
  return discoverIdentity(
    {
      provider: args.provider,
      jobsetTopology: args.jobsetTopology,
      replicas: args.replicas,
      ordinalsStart: args.ordinalsStart,
      volcanoTasks: args.volcanoTasks,
      index: args.index,
      completions: args.completions,
      jobName: args.jobName,
      subdomain: args.subdomain,
      namespace: args.namespace,
      clusterDomain: args.clusterDomain,
      peers: args.peers,
      hostname: args.hostname,
      origins,
    },
    {
      env: ctx.io.env,
      ...ctx.io.sources,
      paths: {
        hosts: args.hostsFile ?? DEFAULT_PATHS.hosts,
        resolvConf: args.resolvConf ?? DEFAULT_PATHS.resolvConf,
        namespace: args.namespaceFile ?? DEFAULT_PATHS.namespace,
        podinfo: args.podinfoDir ?? DEFAULT_PATHS.podinfo,
        mpiHostfile: args.mpiHostfile ?? DEFAULT_PATHS.mpiHostfile,
        volcano: args.volcanoDir ?? DEFAULT_PATHS.volcano,
      },
    },
  );
}
