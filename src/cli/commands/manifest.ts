// `manifest`: print a headless Service and an Indexed Job that run a command behind the agent.
import type { CommandModule, Options } from 'yargs';
import { DEFAULT_PORT } from '../../defaults.js';
import { buildManifest } from '../../manifest/build.js';
import { buildKindManifest, MANIFEST_KINDS, type ManifestKind } from '../../manifest/kinds.js';
import { DEFAULT_AGENT_IMAGE, MANIFEST_MODES, normalizeManifestOptions } from '../../manifest/options.js';
import { applySidecar, checkSidecarOptions, kindPublishesNotReady } from '../../manifest/sidecar.js';
import { toYamlDocuments } from '../../manifest/yaml.js';
import type { CliContext } from '../context.js';

const GROUP = 'Manifest:';

/** Options of `manifest`. */
export const manifestOptions = {
  mode: {
    choices: MANIFEST_MODES,
    default: 'wrapper',
    group: GROUP,
    describe:
      'wrapper: the image has peer-rendezvous; copy-in: an init container copies it into the pod; ' +
      'init-container: an init container waits, the workload starts unwrapped',
  },
  kind: {
    choices: MANIFEST_KINDS,
    default: 'job',
    group: GROUP,
    describe:
      'what runs the pods: job (Indexed Job + Service), jobset, lws, statefulset, mpijob, trainjob, vcjob',
  },
  topology: {
    type: 'string',
    group: GROUP,
    describe: '--kind jobset: replicated jobs rjob=<replicas>x<pods>,… [default: node=1x<completions>]',
  },
  runtime: {
    type: 'string',
    group: GROUP,
    describe: '--kind trainjob: the ClusterTrainingRuntime [default: torch-distributed]',
  },
  name: { type: 'string', group: GROUP, describe: 'Job name (pods are <name>-<index>)' },
  'service-name': {
    type: 'string',
    group: GROUP,
    describe: 'headless Service name = pod subdomain [default: --name]',
  },
  namespace: {
    type: 'string',
    group: GROUP,
    describe: 'namespace of both objects [default: none, kubectl -n decides]',
  },
  completions: {
    type: 'string',
    group: GROUP,
    describe: 'number of pods: completions = parallelism = world size',
  },
  image: { type: 'string', group: GROUP, describe: "the workload's image" },
  'agent-image': {
    type: 'string',
    group: GROUP,
    describe: `image with peer-rendezvous for copy-in and init-container modes [default: ${DEFAULT_AGENT_IMAGE}]`,
  },
  port: {
    type: 'string',
    group: GROUP,
    describe: `agent rendezvous port [default: ${DEFAULT_PORT}]`,
  },
  export: {
    type: 'string',
    group: GROUP,
    describe: 'passed to the agent: torch,torchrun,jax,tf,mpi,deepspeed',
  },
  verify: { type: 'string', group: GROUP, describe: 'passed to the agent: star|mesh|dns|tcp:<port>' },
  timeout: { type: 'string', group: GROUP, describe: 'passed to the agent: 30s, 5m, 1h' },
  'token-secret': {
    type: 'string',
    group: GROUP,
    describe:
      'Secret <name>[:<key>] holding the shared token, mounted as a file for --token-file (key default: token)',
  },
  'fail-fast-on-config-error': {
    type: 'boolean',
    default: false,
    group: GROUP,
    describe: 'add a podFailurePolicy: exit 64 or 78 fails the Job at once instead of retrying',
  },
  'backoff-limit': {
    type: 'string',
    group: GROUP,
    describe: 'Job spec.backoffLimit [default: Kubernetes, 6]',
  },
  'container-name': { type: 'string', group: GROUP, describe: 'workload container name [default: workload]' },
  sidecar: {
    type: 'boolean',
    default: false,
    group: GROUP,
    describe:
      'run the agent as a native sidecar (K8s >= 1.29): startupProbe on /readyz, exports in a shared emptyDir, the workload unchanged',
  },
} satisfies Record<string, Options>;

interface ManifestArgs {
  kind?: ManifestKind;
  topology?: string;
  runtime?: string;
  mode?: string;
  name?: string;
  serviceName?: string;
  namespace?: string;
  completions?: string;
  image?: string;
  agentImage?: string;
  port?: string;
  export?: string;
  verify?: string;
  timeout?: string;
  tokenSecret?: string;
  failFastOnConfigError?: boolean;
  backoffLimit?: string;
  containerName?: string;
  sidecar?: boolean;
  logFormat?: 'text' | 'json';
}

/** The `manifest` command module. */
export function manifestCommand(ctx: CliContext): CommandModule<object, ManifestArgs> {
  return {
    command: 'manifest',
    describe: 'print a headless Service and an Indexed Job running <command> behind the agent (YAML)',
    builder: (y) =>
      y
        .options(manifestOptions)
        .usage('$0 manifest --name <job> --completions <n> --image <image> [options] -- <command> [args...]')
        .example(
          '$0 manifest --name example-job --completions 3 --image debian:trixie-slim -- bash -c \'echo "$PEER_HOSTS"\'',
          'a Service and a 3-pod Job',
        ) as never,
    handler: (args) => {
      const options = normalizeManifestOptions({
        mode: args.mode,
        name: args.name,
        serviceName: args.serviceName,
        namespace: args.namespace,
        completions: args.completions,
        image: args.image,
        agentImage: args.agentImage,
        port: args.port,
        export: args.export,
        verify: args.verify,
        timeout: args.timeout,
        tokenSecret: args.tokenSecret,
        failFastOnConfigError: args.failFastOnConfigError,
        backoffLimit: args.backoffLimit,
        containerName: args.containerName,
        command: commandAfterDashes(ctx.argv),
      });
      if (args.sidecar)
        checkSidecarOptions(options, {
          kind: args.kind,
          publishNotReadyAddresses: args.kind === undefined ? undefined : kindPublishesNotReady(args.kind),
        });
      if (args.kind !== undefined && args.kind !== 'job') {
        const km = buildKindManifest(args.kind, options, { topology: args.topology, runtime: args.runtime });
        ctx.io.stdout(
          args.logFormat === 'json'
            ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: km.objects }, null, 2)}\n`
            : toYamlDocuments(km.documents),
        );
        return;
      }
      const manifest = args.sidecar ? applySidecar(buildManifest(options), options) : buildManifest(options);
      // --log-format json: one kubectl-applicable v1 List instead of YAML documents.
      ctx.io.stdout(
        args.logFormat === 'json'
          ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [manifest.service, manifest.job] }, null, 2)}\n`
          : toYamlDocuments(manifest.documents),
      );
    },
  };
}

/** Everything after the first `--`, exactly as given. */
export function commandAfterDashes(argv: readonly string[]): string[] {
  const at = argv.indexOf('--');
  return at === -1 ? [] : argv.slice(at + 1);
}
