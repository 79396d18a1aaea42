// Options of `manifest`: defaults, validation the way Kubernetes would reject the objects, one normalised copy.
import { DEFAULT_PORT } from '../defaults.js';
import { parseDuration } from '../duration.js';
import { ConfigError, quote, UsageError } from '../errors.js';
import { parsePresets } from '../exec/export-options.js';
import { MAX_COMPLETIONS } from '../identity/validate.js';
import { labelProblem, MAX_LABEL_LENGTH } from '../names.js';
import { formatVerifyMode, parseVerifyMode } from '../rendezvous/verify.js';
import { VERSION } from '../version.js';

/** How the agent gets into the pod. */
export const MANIFEST_MODES = ['wrapper', 'init-container', 'copy-in'] as const;
export type ManifestMode = (typeof MANIFEST_MODES)[number];

/** The image `--agent-image` defaults to: what `docker build -t peer-rendezvous:<version> .` tags. */
export const DEFAULT_AGENT_IMAGE = `peer-rendezvous:${VERSION}`;
/** Where the copy-in mode mounts the shared volume with the executable in the workload container. */
export const COPY_IN_DIR = '/opt/peer-rendezvous';
/** Exit codes a `--fail-fast-on-config-error` podFailurePolicy turns into FailJob (usage, configuration). */
export const FAIL_FAST_EXIT_CODES = [64, 78] as const;

/** Everything `buildManifest()` needs, validated and defaulted. */
export interface ManifestOptions {
  readonly mode: ManifestMode;
  /** Job name: pods are `<name>-<index>`. */
  readonly name: string;
  /** Headless Service name = the pods' `subdomain`. */
  readonly serviceName: string;
  /** Namespace of both objects; undefined leaves it to `kubectl apply -n`. */
  readonly namespace: string | undefined;
  /** completions = parallelism = world size. */
  readonly completions: number;
  /** The workload's image. */
  readonly image: string;
  /** The image with peer-rendezvous in it (init-container and copy-in modes). */
  readonly agentImage: string;
  /** The workload command and its arguments. */
  readonly command: readonly string[];
  /** The agent's rendezvous port. */
  readonly port: number;
  /** `--export` value handed to the agent, e.g. `torch,mpi`; undefined for none. */
  readonly exports: string | undefined;
  /** `--verify` value handed to the agent; undefined for the agent's default. */
  readonly verify: string | undefined;
  /** `--timeout` value handed to the agent; undefined for the agent's default. */
  readonly timeout: string | undefined;
  /** Secret (and key) the agent's shared token comes from (PEER_RENDEZVOUS_TOKEN); undefined for none. */
  readonly tokenSecret: { readonly name: string; readonly key: string } | undefined;
  /** Add a podFailurePolicy that fails the Job on exit codes 64 and 78 instead of retrying. */
  readonly failFast: boolean;
  /** Job `backoffLimit`; undefined leaves the Kubernetes default (6). */
  readonly backoffLimit: number | undefined;
  /** Name of the workload container. */
  readonly containerName: string;
}

/** Raw option values as yargs or a caller gives them. */
export interface RawManifestOptions {
  mode?: string | undefined;
  name?: string | undefined;
  serviceName?: string | undefined;
  namespace?: string | undefined;
  completions?: unknown;
  image?: string | undefined;
  agentImage?: string | undefined;
  command?: readonly string[] | undefined;
  port?: unknown;
  export?: string | undefined;
  verify?: string | undefined;
  timeout?: string | undefined;
  tokenSecret?: string | undefined;
  failFastOnConfigError?: boolean | undefined;
  backoffLimit?: unknown;
  containerName?: string | undefined;
}

const RFC1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
// An image reference without whitespace or control characters; the registry decides the rest.
const IMAGE = /^[^\s\x00-\x1f\x7f]+$/;
// A Secret data key: alphanumerics, '-', '_' and '.'.
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** Validate and copy raw options (never mutates them); throws UsageError naming the option and the value. */
export function normalizeManifestOptions(raw: RawManifestOptions): ManifestOptions {
  const mode = raw.mode ?? 'wrapper';
  if (!(MANIFEST_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`--mode ${quote(mode)} is not a mode: expected one of ${MANIFEST_MODES.join(', ')}`);
  }
  const name = required('--name', raw.name);
  const completions = integer('--completions', raw.completions, undefined, 1, MAX_COMPLETIONS);
  checkLabel('--name', name);
  // Kubernetes rejects an Indexed Job whose last pod hostname `<name>-<completions-1>` is not a label.
  const lastHost = `${name}-${completions - 1}`;
  if (lastHost.length > MAX_LABEL_LENGTH) {
    throw new UsageError(
      `--name ${quote(name)} with --completions ${completions} gives pod hostname ${quote(lastHost)} of ` +
        `${lastHost.length} characters: Kubernetes requires at most ${MAX_LABEL_LENGTH}; use a shorter name`,
    );
  }
  const serviceName = raw.serviceName ?? name;
  if (!RFC1035_LABEL.test(serviceName) || serviceName.length > MAX_LABEL_LENGTH) {
    throw new UsageError(
      `--service-name ${quote(serviceName)} is not a valid Service name: expected an RFC 1035 label ` +
        '(lower case letters, digits and -, starting with a letter, at most 63 characters)',
    );
  }
  if (raw.namespace !== undefined) checkLabel('--namespace', raw.namespace);
  const image = checkImage('--image', required('--image', raw.image));
  const agentImage = checkImage('--agent-image', raw.agentImage ?? DEFAULT_AGENT_IMAGE);
  const command = [...(raw.command ?? [])].map(String);
  if (command.length === 0) {
    throw new UsageError(
      'manifest needs the workload command after --, e.g. manifest --name train -- python train.py',
    );
  }
  const port = integer('--port', raw.port, DEFAULT_PORT, 1, 65535);
  // Values handed to the agent are checked with the agent's own parsers, so a manifest never carries a value
  // the pods would reject; what they accept contains no shell metacharacters (init-container mode quotes none).
  const verify =
    raw.verify === undefined
      ? undefined
      : formatVerifyMode(asUsage(() => parseVerifyMode(raw.verify!, 'flag --verify')));
  const presets = parsePresets(raw.export, 'flag --export');
  const exports = presets.length === 0 ? undefined : presets.join(',');
  const timeout = raw.timeout === undefined ? undefined : raw.timeout.trim();
  if (timeout !== undefined) asUsage(() => parseDuration(timeout, 'flag --timeout'));
  const tokenSecret = raw.tokenSecret === undefined ? undefined : parseSecretRef(raw.tokenSecret);
  const containerName = raw.containerName ?? 'workload';
  checkLabel('--container-name', containerName);
  return {
    mode: mode as ManifestMode,
    name,
    serviceName,
    namespace: raw.namespace,
    completions,
    image,
    agentImage,
    command,
    port,
    exports,
    verify,
    timeout,
    tokenSecret,
    failFast: raw.failFastOnConfigError ?? false,
    backoffLimit:
      raw.backoffLimit === undefined
        ? undefined
        : integer('--backoff-limit', raw.backoffLimit, 0, 0, 2 ** 31 - 1),
    containerName,
  };
}

function required(flag: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`manifest needs ${flag}`);
  return value;
}

function checkLabel(flag: string, value: string): void {
  const problem = labelProblem(value);
  if (problem !== undefined) {
    throw new UsageError(`${flag} ${quote(value)} is not a valid DNS-1123 label: ${problem}`);
  }
}

function checkImage(flag: string, value: string): string {
  if (!IMAGE.test(value)) throw new UsageError(`${flag} ${quote(value)} is not an image reference`);
  return value;
}

function integer(
  flag: string,
  value: unknown,
  fallback: number | undefined,
  min: number,
  max: number,
): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (value === undefined) throw new UsageError(`manifest needs ${flag}`);
  const text = String(value).trim();
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} ${quote(value)} is not valid: expected an integer from ${min} to ${max}`);
  }
  return n;
}

/** Run an agent parser; its ConfigError about a flag of `manifest` is a usage error here (exit 64). */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    // Same message: the agent's parser already names the value, the flag and what was expected.
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** `name` or `name:key` → the Secret holding the token (key default `token`). */
function parseSecretRef(value: string): { name: string; key: string } {
  const [name = '', key = 'token', ...rest] = value.split(':');
  const problem = labelProblem(name);
  if (rest.length > 0 || problem !== undefined || !SECRET_KEY.test(key)) {
    throw new UsageError(
      `--token-secret ${quote(value)} is not valid: expected <secret name>[:<key>] (key default "token")` +
        (problem === undefined ? '' : `; the name ${problem}`),
    );
  }
  return { name, key };
}
