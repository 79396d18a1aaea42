// Error classes with stable codes. Callers match `err.code`, never the message.
// The CLI maps codes to exit codes in one place (src/exit-codes.ts).

export type ErrorCode =
  | 'RDV_ERR_USAGE'
  | 'RDV_ERR_CONFIG'
  | 'RDV_ERR_TIMEOUT'
  | 'RDV_ERR_ABORTED'
  | 'RDV_ERR_DNS'
  | 'RDV_ERR_DNS_TIMEOUT'
  | 'RDV_ERR_PROTOCOL'
  | 'RDV_ERR_COMMAND_NOT_FOUND'
  | 'RDV_ERR_COMMAND_NOT_EXECUTABLE'
  | 'RDV_ERR_UNSUPPORTED'
  | 'RDV_ERR_RELEASED';

/** Base class of every error this package throws on purpose. */
export class RendezvousError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad flag, argument or option object: exit 64. */
export class UsageError extends RendezvousError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RDV_ERR_USAGE', message, options);
  }
}

/** Where a configuration value came from (flag, env var, file, default …). */
export interface ValueSource {
  /** e.g. 'flag --index', 'env JOB_COMPLETION_INDEX', 'file /etc/hosts', 'default'. */
  readonly source: string;
}

/** Bad configuration: an env value, a file, an identity that cannot be worked out. Exit 78. */
export class ConfigError extends RendezvousError {
  /** The offending value as it was read, if there was one. */
  readonly value: string | undefined;
  /** Where the value came from. */
  readonly source: string | undefined;
  constructor(message: string, details: { value?: string; source?: string; cause?: unknown } = {}) {
    super('RDV_ERR_CONFIG', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.value = details.value;
    this.source = details.source;
  }
}

/** The command to exec does not exist on PATH (127) or is not executable (126). */
export class CommandError extends RendezvousError {
  readonly command: string;
  readonly tried: readonly string[];
  constructor(
    code: 'RDV_ERR_COMMAND_NOT_FOUND' | 'RDV_ERR_COMMAND_NOT_EXECUTABLE',
    message: string,
    details: { command: string; tried: readonly string[]; cause?: unknown },
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.command = details.command;
    this.tried = details.tried;
  }
}

/** An operation was cancelled through its AbortSignal or by a signal to the process. */
export class AbortedError extends RendezvousError {
  /** The POSIX signal name when the abort came from a process signal (e.g. 'SIGTERM'). */
  readonly signal: NodeJS.Signals | undefined;
  constructor(message: string, details: { signal?: NodeJS.Signals; cause?: unknown } = {}) {
    super('RDV_ERR_ABORTED', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.signal = details.signal;
  }
}

/** No DNS server gave an acceptable answer within the tries (`resolve` exits 124). */
export class DnsTimeoutError extends RendezvousError {
  /** The servers tried, in order (`host:port`). */
  readonly servers: readonly string[];
  constructor(message: string, details: { servers: readonly string[]; cause?: unknown }) {
    super('RDV_ERR_DNS_TIMEOUT', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.servers = details.servers;
  }
}

/** Quote a value for an error message so that empty strings and spaces stay visible. */
export function quote(value: unknown): string {
  return JSON.stringify(String(value));
}
