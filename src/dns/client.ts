// The stub resolver: one absolute question at a time, UDP with EDNS0 and TCP fallback, answers classified.
import { AbortedError, quote, RendezvousError, UsageError } from '../errors.js';
import { randomInt } from '../random.js';
import { classifyResponse } from './client-classify.js';
import { tcpExchange } from './client-tcp.js';
import { type ExchangeOutcome, type Expected, UdpTransport } from './client-udp.js';
import { ipFamily } from './ip-bytes.js';
import { canonicalName, DEFAULT_UDP_PAYLOAD_SIZE, encodeQuery } from './packet.js';
import { formatServerAddress } from './server-address.js';
import {
  type DnsResult,
  type DnsServerAddress,
  PRIVATE_TYPE_FIRST,
  PRIVATE_TYPE_LAST,
  privateTypeCode,
  type QueryType,
  type Resolver,
  type ServerLabel,
} from './types.js';

/** Options of a DnsClient. Only `servers` is required. */
export interface DnsClientOptions {
  /** Servers in the order glibc would ask them (resolv.conf order). */
  readonly servers: readonly DnsServerAddress[];
  /** Wait per try for one server's answer (default 2000 ms). */
  readonly timeoutMs?: number;
  /** Rounds over all servers (default 2, like glibc `attempts:2`). */
  readonly attempts?: number;
  /** Questions in flight at once; more wait in a queue (default 64). */
  readonly concurrency?: number;
  /** EDNS0 UDP payload size advertised (default 1232; 0 sends no OPT record). */
  readonly udpPayloadSize?: number;
  /**
   * UDP questions per connected socket before it is replaced by a fresh one with a new random source port
   * (default 32: a rotating pool; 1 gives every question its own socket and port, at about 3× the CPU).
   */
  readonly queriesPerSocket?: number;
}

/** Options after defaults and validation. */
export interface NormalizedDnsClientOptions {
  readonly servers: readonly DnsServerAddress[];
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly concurrency: number;
  readonly udpPayloadSize: number;
  readonly queriesPerSocket: number;
}

/** Defaults of DnsClientOptions. */
export const DNS_CLIENT_DEFAULTS = {
  timeoutMs: 2000,
  attempts: 2,
  concurrency: 64,
  udpPayloadSize: DEFAULT_UDP_PAYLOAD_SIZE,
  queriesPerSocket: 32,
} as const;

const QUERY_TYPES: readonly QueryType[] = ['A', 'AAAA', 'SRV'];
/** IDs in flight must stay distinct; keep well below 65536 so picking a free one is quick. */
const MAX_CONCURRENCY = 4096;

/** Copy, default and validate client options; throws UsageError naming the bad option. */
export function normalizeDnsClientOptions(options: DnsClientOptions): NormalizedDnsClientOptions {
  if (typeof options !== 'object' || options === null) throw new UsageError('Expected DNS client options');
  const servers = Array.isArray(options.servers) ? options.servers : [];
  if (servers.length === 0) throw new UsageError('Expected `servers` to list at least one DNS server');
  for (const s of servers) {
    if (typeof s?.host !== 'string' || !Number.isInteger(s.port) || s.port < 1 || s.port > 65_535) {
      throw new UsageError(
        `Expected each of \`servers\` to be { host, port }, got ${quote(JSON.stringify(s))}`,
      );
    }
    if (ipFamily(s.host) === 0) {
      throw new UsageError(
        `Expected each server host to be an IP address (no lookups), got ${quote(s.host)}`,
      );
    }
  }
  const int = (key: keyof typeof DNS_CLIENT_DEFAULTS, min: number, max: number): number => {
    const value = options[key] ?? DNS_CLIENT_DEFAULTS[key];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new UsageError(`Expected \`${key}\` to be an integer from ${min} to ${max}, got ${quote(value)}`);
    }
    return value;
  };
  const udpPayloadSize = int('udpPayloadSize', 0, 65_535);
  if (udpPayloadSize !== 0 && udpPayloadSize < 512) {
    throw new UsageError(`Expected \`udpPayloadSize\` to be 0 (no EDNS) or 512-65535, got ${udpPayloadSize}`);
  }
  return {
    servers: servers.map((s) => ({ host: s.host, port: s.port })),
    timeoutMs: int('timeoutMs', 1, 600_000),
    attempts: int('attempts', 1, 10),
    concurrency: int('concurrency', 1, MAX_CONCURRENCY),
    udpPayloadSize,
    queriesPerSocket: int('queriesPerSocket', 1, 65_535),
  };
}

/** An absolute name of printable ASCII labels of 1-63 characters (no dots or backslashes inside). */
const ABSOLUTE_NAME = /^(?:[\x21-\x2d\x2f-\x5b\x5d-\x7e]{1,63}\.)+$/;

/** Throw UsageError unless `name` is an absolute domain name (trailing dot) and `type` one we ask for. */
export function checkQuestion(name: unknown, type: unknown): asserts name is string {
  if (
    type !== 'A' &&
    type !== 'AAAA' &&
    type !== 'SRV' &&
    (typeof type !== 'string' || privateTypeCode(type) === undefined)
  ) {
    throw new UsageError(
      `Expected the query type to be one of ${QUERY_TYPES.join(', ')} or a private-use TYPE${PRIVATE_TYPE_FIRST}–TYPE${PRIVATE_TYPE_LAST}, got ${quote(type)}`,
    );
  }
  if (typeof name === 'string' && name.length <= 254 && (name === '.' || ABSOLUTE_NAME.test(name))) return;
  // Slow path: say what is wrong.
  if (typeof name !== 'string' || !name.endsWith('.')) {
    throw new UsageError(
      `Expected an absolute domain name ending with ".", got ${quote(name)}; the resolver never applies a search list`,
    );
  }
  if (name.length > 254) throw new UsageError(`name ${quote(name)} is longer than 253 characters`);
  const bad = name
    .slice(0, -1)
    .split('.')
    .find((label) => !/^[\x21-\x2d\x2f-\x5b\x5d-\x7e]{1,63}$/.test(label));
  throw new UsageError(
    `name ${quote(name)} has a bad label ${quote(bad ?? '')}: expected 1-63 printable ASCII characters`,
  );
}

/** A stub resolver bound to a list of servers. No global state: each instance owns its sockets. */
export class DnsClient implements Resolver {
  readonly options: NormalizedDnsClientOptions;
  readonly #udp: Map<DnsServerAddress, UdpTransport>;
  readonly #labels: Map<DnsServerAddress, ServerLabel>;
  readonly #ids = new Set<number>();
  readonly #cancels = new Set<() => void>();
  readonly #queue: (() => void)[] = [];
  #active = 0;
  #closed = false;

  constructor(options: DnsClientOptions) {
    this.options = normalizeDnsClientOptions(options);
    this.#udp = new Map(
      this.options.servers.map((s) => [s, new UdpTransport(s, this.options.queriesPerSocket)] as const),
    );
    this.#labels = new Map(this.options.servers.map((s) => [s, formatServerAddress(s)] as const));
  }

  /** Ask one question; resolves with the classified result, rejects only on bad input, abort or close. */
  query(name: string, type: QueryType, options: { signal?: AbortSignal } = {}): Promise<DnsResult> {
    const signal = options.signal;
    try {
      checkQuestion(name, type);
      this.#checkOpen();
      if (signal?.aborted) throw abortedError(signal);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#active < this.options.concurrency && this.#queue.length === 0) {
      this.#active++;
      return this.#resolve(name, type, signal);
    }
    return this.#waitForSlot(signal).then(() => this.#resolve(name, type, signal));
  }

  /** Close every socket; queries in flight or queued reject with RDV_ERR_DNS. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const cancel of [...this.#cancels]) cancel();
    for (const wake of this.#queue.splice(0)) wake();
    await Promise.all([...this.#udp.values()].map((t) => t.close()));
    // Sockets are released in libuv's close phase, after their 'close' events: let that pass.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }

  /** Ask the servers in turn; runs holding a concurrency slot and releases it. */
  async #resolve(name: string, type: QueryType, signal: AbortSignal | undefined): Promise<DnsResult> {
    const id = this.#allocateId();
    const started = monotonicMs();
    const expected: Expected = { id, name, type, canonical: canonicalName(name) };
    const udpQuery = encodeQuery(id, name, type, this.options.udpPayloadSize);
    const tried: ServerLabel[] = [];
    let lastReason: string | undefined;
    let failure: DnsResult | undefined;
    try {
      for (let attempt = 0; attempt < this.options.attempts; attempt++) {
        for (const server of this.options.servers) {
          const label = this.#labels.get(server)!;
          tried.push(label);
          let transport: 'udp' | 'tcp' = 'udp';
          let outcome = await this.#exchange(signal, (onCancel) =>
            this.#udp.get(server)!.exchange(expected, udpQuery, this.options.timeoutMs, onCancel),
          );
          if (outcome.kind === 'answer' && outcome.packet.flag_tc) {
            // Truncated: the same question over TCP (the EDNS OPT is harmless there).
            transport = 'tcp';
            outcome = await this.#exchange(signal, (onCancel) =>
              tcpExchange(server, expected, udpQuery, this.options.timeoutMs, onCancel),
            );
          }
          if (outcome.kind === 'answer') {
            const result = classifyResponse(outcome.packet, name, type, {
              server: label,
              transport,
              elapsedMs: elapsedSince(started),
            });
            // SERVFAIL, REFUSED and other errors: try the remaining servers of this round, as glibc does.
            if (result.kind === 'servfail' || result.kind === 'refused' || result.kind === 'error') {
              failure = result;
              continue;
            }
            return result;
          }
          // A socket error (ECONNREFUSED, EMFILE) says more than a later silence: a timeout does not hide it.
          if (outcome.kind === 'error') lastReason = outcome.reason;
        }
        if (failure !== undefined) return { ...failure, elapsedMs: elapsedSince(started) };
      }
      return {
        kind: 'timeout',
        name,
        type,
        servers: tried,
        elapsedMs: elapsedSince(started),
        ...(lastReason === undefined ? {} : { reason: lastReason }),
      };
    } finally {
      this.#ids.delete(id);
      this.#releaseSlot();
    }
  }

  /** Run one exchange that close() and `signal` can cancel; rejects when cancelled. */
  #exchange(
    signal: AbortSignal | undefined,
    run: (onCancel: (cancel: () => void) => void) => Promise<ExchangeOutcome>,
  ): Promise<ExchangeOutcome> {
    if (this.#closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    let cancel: (() => void) | undefined;
    const onAbort = (): void => cancel?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    let settled: Promise<ExchangeOutcome>;
    try {
      settled = run((c) => {
        cancel = c;
        this.#cancels.add(c);
      });
    } catch (error) {
      signal?.removeEventListener('abort', onAbort);
      return Promise.reject(error);
    }
    return settled.then((outcome) => {
      signal?.removeEventListener('abort', onAbort);
      if (cancel) this.#cancels.delete(cancel);
      if (outcome.kind === 'cancelled') {
        if (signal?.aborted) throw abortedError(signal);
        this.#checkOpen();
      }
      return outcome;
    });
  }

  #allocateId(): number {
    for (;;) {
      const id = randomInt(0, 65_536);
      if (!this.#ids.has(id)) {
        this.#ids.add(id);
        return id;
      }
    }
  }

  /** Queue until a slot frees up (#releaseSlot hands it over); the slot is counted when this resolves. */
  #waitForSlot(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#queue.indexOf(wake);
        if (at !== -1) this.#queue.splice(at, 1);
        reject(abortedError(signal!));
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        if (this.#closed) reject(closedError());
        else {
          this.#active++;
          resolve();
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(wake);
    });
  }

  #releaseSlot(): void {
    this.#active--;
    const next = this.#queue.shift();
    if (next) next();
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError();
  }
}

function closedError(): RendezvousError {
  return new RendezvousError('RDV_ERR_DNS', 'the DNS client was closed');
}

function abortedError(signal: AbortSignal): AbortedError {
  return new AbortedError('DNS query aborted', { cause: signal.reason });
}

function elapsedSince(started: number): number {
  return Math.round((monotonicMs() - started) * 10) / 10;
}

/** A monotonic clock in ms. Not performance.now(): its first use loads perf_hooks, a cost on every start. */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
