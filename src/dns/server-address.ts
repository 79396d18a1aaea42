// Parse and print DNS server addresses: `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` (default port 53).

import { ConfigError, quote } from '../errors.js';
import { ipFamily } from './ip-bytes.js';
import type { DnsServerAddress, ServerLabel } from './types.js';

/** The standard DNS port. */
export const DNS_PORT = 53;

/**
 * Parse one `host[:port]` / `[v6]:port` / bare IPv6 value. The host must be an IP literal (a stub resolver
 * cannot resolve its own server). Throws ConfigError naming the value and `source` (e.g. 'flag --dns-server').
 */
export function parseServerAddress(value: string, source = 'dns server'): DnsServerAddress {
  const fail = (why: string): never => {
    throw new ConfigError(
      `${source} ${quote(value)} is not a DNS server address: ${why}; expected an IP with an optional port, e.g. 10.96.0.10, 127.0.0.1:5353 or [::1]:5353`,
      { value, source },
    );
  };
  const text = value.trim();
  if (text === '') return fail('it is empty');
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
    if (ipFamily(host) !== 6) return fail(`${quote(host)} in brackets is not an IPv6 address`);
  } else if (ipFamily(text) === 6) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
    if (host === '') return fail('the host is missing');
    if (host.includes(':')) return fail('an IPv6 address with a port must be written [addr]:port');
    if (ipFamily(host) !== 4) return fail(`${quote(host)} is not an IP address`);
  }
  let port = DNS_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return fail(`port ${quote(portText)} is not a number`);
    port = Number(portText);
    if (port < 1 || port > 65_535) return fail(`port ${port} is outside 1-65535`);
  }
  // Hex digits are case-insensitive; an IPv6 zone (`%eth0`) names an interface and keeps its case.
  const zone = host.indexOf('%');
  return {
    host: zone === -1 ? host.toLowerCase() : host.slice(0, zone).toLowerCase() + host.slice(zone),
    port,
  };
}

/** `host:port`, or `[v6]:port` for IPv6, as results and messages name a server. */
export function formatServerAddress(server: DnsServerAddress): ServerLabel {
  return ipFamily(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}
