// Build DnsClient options from a parsed resolv.conf or from `--dns-server` values.
import { ConfigError, quote } from '../errors.js';
import type { DnsClientOptions } from './client.js';
import type { ResolvConf } from './resolv-conf.js';
import { parseServerAddress } from './server-address.js';

/**
 * Client options from a resolv.conf: its nameservers on port 53, `timeout:` and `attempts:` as glibc reads
 * them. `source` names the file in messages. A file without nameservers is a ConfigError (glibc would fall
 * back to 127.0.0.1; in a pod that hides a broken dnsPolicy, so we say so instead).
 */
export function dnsClientOptionsFromResolvConf(
  conf: ResolvConf,
  source: string,
  overrides: Partial<Omit<DnsClientOptions, 'servers'>> = {},
): DnsClientOptions {
  if (conf.nameservers.length === 0) {
    throw new ConfigError(
      `${source} lists no nameserver; pass --dns-server host:port or fix the pod's dnsPolicy`,
      {
        source,
      },
    );
  }
  return {
    servers: conf.nameservers.map((ns) => parseServerAddress(ns, `nameserver in ${source}`)),
    timeoutMs: Math.max(1, conf.timeout) * 1000,
    attempts: Math.max(1, conf.attempts),
    ...overrides,
  };
}

/**
 * Client options from a `--dns-server` value: one `host[:port]` or a comma-separated list of them.
 * `source` is e.g. 'flag --dns-server' or 'env PEER_RENDEZVOUS_DNS_SERVER'.
 */
export function dnsClientOptionsFromServerFlag(
  value: string,
  source: string,
  overrides: Partial<Omit<DnsClientOptions, 'servers'>> = {},
): DnsClientOptions {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(`${source} ${quote(value)} is empty; expected host:port, e.g. 127.0.0.1:5353`, {
      value: String(value),
      source,
    });
  }
  return { servers: value.split(',').map((part) => parseServerAddress(part, source)), ...overrides };
}
