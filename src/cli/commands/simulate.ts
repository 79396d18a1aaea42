// `simulate`: N pods on this machine with the project's DNS server, fault injection, a summary at the end.
import type { CommandModule, Options } from 'yargs';
import { quote, UsageError } from '../../errors.js';
import { selfCommand } from '../../self-command.js';
import type { SimulateArgs } from '../../simulate/args.js';
import type { CliContext } from '../context.js';

const SIM = 'Simulation:';
const FAULTS = 'Faults:';
const AGENT = 'Passed to every agent:';
const MAX_PODS = 60_000;

/** Options of `simulate`. */
export const simulateOptions = {
  n: {
    alias: 'pods',
    type: 'number',
    group: SIM,
    describe: 'number of pods (completions)',
  },
  'job-name': {
    type: 'string',
    group: SIM,
    default: 'example-job',
    describe: 'Job name (pods are <job>-<index>)',
  },
  subdomain: { type: 'string', group: SIM, default: 'headless-svc', describe: 'headless Service name' },
  namespace: { type: 'string', group: SIM, default: 'default', describe: 'namespace' },
  'cluster-domain': { type: 'string', group: SIM, default: 'cluster.local', describe: 'cluster DNS domain' },
  'init-container': {
    type: 'boolean',
    group: SIM,
    default: false,
    describe: 'run `wait` as an init container, then the command: the pod is not Ready (no record) meanwhile',
  },
  'in-process': {
    type: 'boolean',
    group: SIM,
    default: false,
    describe:
      'all agents in this process (waitForPeers), no workload; timings and counters (thousands of pods)',
  },
  netns: {
    type: 'boolean',
    group: SIM,
    default: false,
    describe: 'each pod in its own network namespace on a bridge, own hostname, DNS on port 53 (Linux, root)',
  },
  'start-delay': {
    type: 'string',
    array: true,
    group: FAULTS,
    describe: '<index>=<duration>: start that pod later (repeatable), e.g. 3=2s',
  },
  'publish-delay': {
    type: 'string',
    group: FAULTS,
    describe: "a pod's record appears this long after it starts [default: 200ms]",
  },
  restart: {
    type: 'string',
    array: true,
    group: FAULTS,
    describe:
      '<index>@<time> or <index>@released+<time> (after every pod released): kill the pod and start it again on a new address; the old record stays served',
  },
  kill: {
    type: 'string',
    array: true,
    group: FAULTS,
    describe: '<index>@<time> or <index>@released+<time>: kill the pod for good',
  },
  'dns-drop': { type: 'number', group: FAULTS, describe: 'fraction of DNS queries never answered (0-1)' },
  'dns-servfail': {
    type: 'number',
    group: FAULTS,
    describe: 'fraction of DNS queries answered SERVFAIL (0-1)',
  },
  'not-ready-addresses': {
    type: 'boolean',
    group: FAULTS,
    default: false,
    describe: 'the Service sets publishNotReadyAddresses: records appear before pods are Ready',
  },
  'dns-cache': {
    type: 'string',
    group: FAULTS,
    describe:
      'a caching resolver in front of the cluster DNS, like CoreDNS `cache`: answers and NXDOMAINs kept up to this long (e.g. 30s; zone TTL and SOA MINIMUM the same) [default: off]',
  },
  'stale-for': {
    type: 'string',
    group: FAULTS,
    describe: 'how long a withdrawn or replaced address is still served [default: 5s]',
  },
  verify: { type: 'string', group: AGENT, describe: 'star | mesh | dns | tcp:<port>' },
  timeout: { type: 'string', group: AGENT, describe: "each agent's timeout [default: 2m]" },
  'released-after': {
    type: 'string',
    group: AGENT,
    describe:
      "each agent's --released-after: a pod replaced after the release gets its verdict this soon [default: 30s]",
  },
  sidecar: {
    type: 'boolean',
    group: SIM,
    default: false,
    describe:
      'each pod runs `peer-rendezvous sidecar`; the command starts at the release with the env file sourced (native-sidecar shape)',
  },
  port: { type: 'number', group: AGENT, describe: 'rendezvous port [default: a free port]' },
  token: { type: 'string', group: AGENT, describe: 'shared secret' },
  'peer-address': {
    type: 'string',
    group: AGENT,
    choices: ['fqdn', 'ip'],
    describe:
      "what the exports carry: fqdn | ip [default: ip on loopback, where the pods' names exist only in the simulation's DNS; fqdn with --netns]",
  },
  export: { type: 'string', group: AGENT, describe: 'framework exports for `run`, e.g. torch,mpi' },
  'serve-dns': {
    type: 'string',
    hidden: true,
    describe: 'internal: serve the cluster DNS on host:port, driven over stdin (used by --netns)',
  },
} satisfies Record<string, Options>;

/** The `simulate` command module. */
export function simulateCommand(ctx: CliContext): CommandModule<object, SimulateArgs> {
  return {
    command: 'simulate',
    describe: 'run N pods on this machine with an embedded cluster DNS, faults on demand',
    builder: (y) =>
      y
        .options(simulateOptions)
        .usage(
          [
            '$0 simulate -n <N> [options] -- <command> [args...]',
            '',
            'Starts the cluster DNS on loopback, then N pods as child processes of this CLI running',
            '`run -- <command>` (or `wait` without a command). Linux: every pod listens on its own 127.x.y.z',
            'address (all of 127/8 is on lo); other systems have only 127.0.0.1 and are not supported yet.',
            'Exit code: 0 when every pod exits 0, else the code of the first pod that failed; 130 on Ctrl-C.',
          ].join('\n'),
        )
        .example(
          '$0 simulate -n 4 -- sh -c \'echo "rank $PEER_INDEX of $PEER_COUNT"\'',
          'four pods, one line each',
        )
        .example('$0 simulate -n 3 --start-delay 0=3s -- true', 'the coordinator comes 3 s late')
        .example('$0 simulate -n 3 --restart 1@1s --stale-for 10s', 'pod 1 restarts on a new address')
        .example('$0 simulate -n 2000 --in-process', 'a scale run, agents in one process')
        .example(
          '$0 simulate -n 4 --dns-cache 30s --start-delay 3=3s',
          'a cluster DNS that caches NXDOMAIN for 30 s (kubeadm: ttl 30, cache 30)',
        ) as never,
    handler: async (args) => {
      const { runSimulateCommand, serveDnsChild } = await import('../../simulate/command.js');
      if (args.serveDns !== undefined) {
        await serveDnsChild(args.serveDns, args.clusterDomain, ctx.io, args.dnsCache);
        return;
      }
      const n = args.n;
      if (n === undefined || !Number.isInteger(n) || n < 1 || n > MAX_PODS) {
        throw new UsageError(
          `simulate needs -n <N>, the number of pods: got ${n === undefined ? 'none' : quote(n)}, expected an integer from 1 to ${MAX_PODS}`,
        );
      }
      const dash = ctx.argv.indexOf('--');
      const command = dash === -1 ? [] : ctx.argv.slice(dash + 1);
      ctx.exitCode = await runSimulateCommand(ctx.io, { ...args, n }, command, selfCommand());
    },
  };
}
