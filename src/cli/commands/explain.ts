// `explain`: identity with the source of every value, the peer names, warnings. Touches no network.
import type { CommandModule } from 'yargs';
import type { Identity, Sourced } from '../../identity/identity.js';
import type { ProviderName } from '../../identity/providers.js';
import type { CliContext } from '../context.js';
import { type IdentityArgs, identityFromArgs, identityOptions } from '../options.js';

interface ExplainArgs extends IdentityArgs {
  logFormat: 'text' | 'json';
}

/** The `explain` command module. */
export function explainCommand(ctx: CliContext): CommandModule<object, ExplainArgs> {
  return {
    command: 'explain',
    describe: "print who this pod is, where each value came from, and its peers' names; no network",
    builder: (y) => y.options(identityOptions) as never,
    handler: (args) => {
      const identity = identityFromArgs(ctx, args);
      ctx.io.stdout(
        args.logFormat === 'json' ? `${JSON.stringify(explainJson(identity))}\n` : explainText(identity),
      );
    },
  };
}

/** The JSON document `explain --log-format json` prints. */
export function explainJson(id: Identity): Record<string, unknown> {
  return {
    mode: id.mode,
    provider: id.provider,
    index: id.index,
    completions: id.completions,
    jobName: id.jobName ?? null,
    subdomain: id.subdomain ?? null,
    namespace: id.namespace ?? null,
    clusterDomain: id.clusterDomain,
    hostname: id.hostname,
    details: id.details,
    podAddress: id.hostsEntry?.address ?? null,
    podFqdn: id.hostsEntry?.fqdn ?? null,
    self: id.self,
    coordinator: id.coordinator,
    peers: id.peers,
    jobKey: id.jobKey,
    resolvConf:
      id.resolvConf === undefined
        ? null
        : {
            nameservers: id.resolvConf.nameservers,
            search: id.resolvConf.search,
            ndots: id.resolvConf.ndots,
            timeout: id.resolvConf.timeout,
            attempts: id.resolvConf.attempts,
          },
    warnings: id.warnings,
  };
}

const MAX_LISTED = 32;

const PROVIDER_TITLES: Record<ProviderName, string> = {
  job: 'Indexed Job naming',
  peers: 'explicit --peers list',
  jobset: 'JobSet',
  lws: 'LeaderWorkerSet group',
  statefulset: 'StatefulSet',
  trainer: 'Kubeflow Trainer v2 TrainJob',
  volcano: 'Volcano job',
  'mpi-operator': 'MPIJob (mpi-operator v2 / Trainer MPI)',
};

/** The human-readable `explain` report. */
export function explainText(id: Identity): string {
  const rows: [string, Sourced<unknown> | undefined][] = [
    ['index', id.index],
    ['completions', id.completions],
    ['job name', id.jobName],
    ['subdomain', id.subdomain],
    ['namespace', id.namespace],
    ['cluster domain', id.clusterDomain],
    ['hostname', id.hostname],
    ...id.details.map((d): [string, Sourced<unknown>] => [d.label, { value: d.value, source: d.source }]),
  ];
  const width = Math.max(...rows.map(([, v]) => String(v?.value ?? '-').length));
  const out: string[] = [
    `identity (${PROVIDER_TITLES[id.provider.value]})`,
    `  ${'provider'.padEnd(15)}${id.provider.value.padEnd(width + 2)}${id.provider.source}`,
  ];
  for (const [label, v] of rows) {
    out.push(`  ${label.padEnd(15)}${String(v?.value ?? '-').padEnd(width + 2)}${v?.source ?? 'not needed'}`);
  }
  if (id.hostsEntry)
    out.push(`  ${'pod address'.padEnd(15)}${id.hostsEntry.address.padEnd(width + 2)}hosts file`);
  if (id.resolvConf) {
    const rc = id.resolvConf;
    out.push('dns (resolv.conf)');
    out.push(`  nameservers    ${rc.nameservers.join(' ') || '(none)'}`);
    out.push(`  search         ${rc.search.join(' ') || '(none)'}`);
    out.push(`  options        ndots:${rc.ndots} timeout:${rc.timeout} attempts:${rc.attempts}`);
  }
  out.push(`peers (${id.peers.length}; absolute names, one query each, no search list)`);
  const n = id.peers.length;
  const iw = String(n - 1).length;
  const listed = (i: number): string => {
    const tags = [i === 0 ? 'coordinator' : '', i === id.index.value ? 'self' : '']
      .filter(Boolean)
      .join(', ');
    return `  ${String(i).padStart(iw)}  ${id.peers[i]}${tags ? `  (${tags})` : ''}`;
  };
  if (n <= MAX_LISTED) {
    for (let i = 0; i < n; i++) out.push(listed(i));
  } else {
    const shown = new Set([0, 1, 2, n - 2, n - 1, id.index.value]);
    let last = -1;
    for (const i of [...shown].sort((a, b) => a - b)) {
      if (last >= 0 && i > last + 1)
        out.push(`  ${' '.repeat(iw)}  … ${i - last - 1} more (use --log-format json for all)`);
      out.push(listed(i));
      last = i;
    }
  }
  out.push(`coordinator    ${id.coordinator}`);
  out.push(`job key        ${id.jobKey}`);
  if (id.warnings.length > 0) {
    out.push('warnings');
    for (const w of id.warnings) out.push(`  - ${w}`);
  }
  return `${out.join('\n')}\n`;
}
