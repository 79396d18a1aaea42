// IP literals to and from the bytes of A/AAAA RDATA, with the RFC 5952 canonical text form of IPv6; and
// ipFamily(), node:net's isIP() without its start-up cost.
import { isIPv6 } from 'node:net';

/** Dotted-quad IPv4 exactly as node:net accepts it: four decimal octets 0–255, no leading zeros. */
const IPV4 =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;

/**
 * 4, 6 or 0 like `net.isIP()`. net.isIP compiles its IPv6 pattern on first use (~5 ms, ~2 ms for IPv4 alone)
 * on every pod's start-up path; a name, an IPv4 address or a `host:port` never needs it.
 */
export function ipFamily(text: string): 0 | 4 | 6 {
  // Like net.isIP, anything that is not a string is not an address (option objects from JavaScript callers).
  if (typeof text !== 'string') return 0;
  const colon = text.indexOf(':');
  if (colon === -1) return IPV4.test(text) ? 4 : 0;
  // Every IPv6 literal has two colons at least; one colon is `host:port`, never an address.
  if (text.indexOf(':', colon + 1) === -1) return 0;
  return isIPv6(text) ? 6 : 0;
}

/** The 4 or 16 bytes of an IP literal, or undefined when `text` is not an IPv4/IPv6 literal. */
export function ipToBytes(text: string): Uint8Array | undefined {
  const family = ipFamily(text);
  if (family === 4) return Uint8Array.from(text.split('.'), Number);
  if (family !== 6) return undefined;
  let head = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
    const v4 = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    const group = (hi: number | undefined, lo: number | undefined) =>
      (((hi ?? 0) << 8) | (lo ?? 0)).toString(16);
    head = `${text.slice(0, lastColon + 1)}${group(v4[0], v4[1])}:${group(v4[2], v4[3])}`;
  }
  const halves = head.split('::');
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  const left = parse(halves[0] ?? '');
  const right = halves.length > 1 ? parse(halves[1] ?? '') : [];
  const groups =
    halves.length > 1
      ? [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
      : left;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

/** The text form of 4 or 16 address bytes: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart === -1) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** The canonical text of an IP literal (IPv6 per RFC 5952), or undefined when it is not one. */
export function canonicalIp(text: string): string | undefined {
  const bytes = ipToBytes(text);
  return bytes === undefined ? undefined : bytesToIp(bytes);
}
