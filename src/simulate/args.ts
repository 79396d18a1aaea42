// What `simulate` runs on: its options as the CLI parsed them (the yargs table is cli/commands/simulate.ts) and
// the streams and environment of the invocation. Defined here, below the CLI, so that simulate/ needs nothing of it.

/** Parsed `simulate` options. */
export interface SimulateArgs {
  n?: number | undefined;
  jobName: string;
  subdomain: string;
  namespace: string;
  clusterDomain: string;
  initContainer: boolean;
  inProcess: boolean;
  netns: boolean;
  startDelay?: string[] | undefined;
  publishDelay?: string | undefined;
  restart?: string[] | undefined;
  kill?: string[] | undefined;
  dnsDrop?: number | undefined;
  dnsServfail?: number | undefined;
  notReadyAddresses: boolean;
  staleFor?: string | undefined;
  dnsCache?: string | undefined;
  verify?: string | undefined;
  timeout?: string | undefined;
  releasedAfter?: string | undefined;
  sidecar: boolean;
  port?: number | undefined;
  token?: string | undefined;
  peerAddress?: 'fqdn' | 'ip' | undefined;
  export?: string | undefined;
  serveDns?: string | undefined;
  quiet: boolean;
  logFormat: 'text' | 'json';
  verbose: boolean;
}

/** The outside world of one simulation (the CLI passes its CliIo). */
export interface SimulateIo {
  /** Write to standard output (no newline added). */
  readonly stdout: (text: string) => void;
  /** Write to standard error (no newline added). */
  readonly stderr: (text: string) => void;
  /** The caller's environment: what the pods inherit (podBaseEnv). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal (live status lines). */
  readonly isTTY: boolean;
}
