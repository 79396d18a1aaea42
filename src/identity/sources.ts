// The outside world identity discovery reads: env, files, hostname. Injected so tests use fixture trees.
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';

/** Where identity discovery reads from. Every field has a default taken from the real pod. */
export interface IdentitySources {
  /** Environment variables (default `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Read a whole text file; undefined when it does not exist or cannot be read. */
  readonly readFile: (path: string) => string | undefined;
  /** The kernel hostname (default `os.hostname()`). */
  readonly hostname: () => string;
  /** Paths of the files the kubelet writes into a pod. */
  readonly paths: {
    readonly hosts: string;
    readonly resolvConf: string;
    readonly namespace: string;
    /** Directory of a downward-API volume with `labels` and `annotations` files. */
    readonly podinfo: string;
    /** The MPI hostfile mpi-operator and Trainer mount. */
    readonly mpiHostfile: string;
    /** Where Volcano's svc plugin mounts `<task>.host` files. */
    readonly volcano: string;
  };
}

/** The files a kubelet writes into every pod, and where controllers mount theirs. */
export const DEFAULT_PATHS = {
  hosts: '/etc/hosts',
  resolvConf: '/etc/resolv.conf',
  namespace: '/var/run/secrets/kubernetes.io/serviceaccount/namespace',
  podinfo: '/etc/podinfo',
  mpiHostfile: '/etc/mpi/hostfile',
  volcano: '/etc/volcano',
} as const;

/** Read a text file, or undefined when it is missing or unreadable. */
export function readTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Fields of {@link IdentitySources} to override; paths one by one. */
export type SourceOverrides = Partial<Omit<IdentitySources, 'paths'>> & {
  readonly paths?: Partial<IdentitySources['paths']> | undefined;
};

/** The real pod's sources, with any field overridden. */
export function defaultSources(overrides: SourceOverrides = {}): IdentitySources {
  return {
    env: overrides.env ?? process.env,
    readFile: overrides.readFile ?? readTextFile,
    hostname: overrides.hostname ?? osHostname,
    paths: { ...DEFAULT_PATHS, ...overrides.paths },
  };
}
