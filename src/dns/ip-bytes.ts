// IP literals to and from the bytes of A/AAAA RDATA, with the RFC 5952 canonical text form of IPv6; and
// ipFamily(), node:net's isIP() without its start-up cost.

/** Dotted-quad IPv4 exactly as node:net accepts it: four decimal octets 0–255, no leading zeros. */
const IPV4 =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;

/**
 * 4, 6 or 0 like `net.isIP()`, which compiles a large IPv6 pattern on first use: ~4 ms of every pod's start
 * (its dual-stack probe socket binds `::`, its peers' addresses arrive IPv4-mapped), measured with perf in
 * the 64-pod mesh. Same answers for every string (test/dns/ip-family.test.ts checks it against net.isIP).
 */
export function ipFamily(text: string): 0 | 4 | 6 {
  // Like net.isIP, anything that is not a string is not an address (option objects from JavaScript callers).
  if (typeof text !== 'string') return 0;
  const colon = text.indexOf(':');
  if (colon === -1) return IPV4.test(text) ? 4 : 0;
  // Every IPv6 literal has two colons at least; one colon is `host:port`, never an address.
  if (text.indexOf(':', colon + 1) === -1) return 0;
  // The form a dual-stack socket sees and sends to for every IPv4 peer, first without the general parser
  // (its splits were ~1% of a mesh member's CPU at N=64, bench/results.md).
  if (
    colon === 0 &&
    text.length > 7 &&
    text.slice(0, 7).toLowerCase() === '::ffff:' &&
    IPV4.test(text.slice(7))
  )
    return 6;
  return ipv6Groups(text) !== undefined ? 6 : 0;
}

/** 1–4 hex digits. */
function isHexGroup(g: string): boolean {
  if (g.length < 1 || g.length > 4) return false;
  for (let i = 0; i < g.length; i++) {
    const c = g.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** A zone (`%eth0`) as net.isIPv6 takes it: one or more of 0-9 a-z A-Z - . : */
function isZone(z: string): boolean {
  if (z.length === 0) return false;
  for (let i = 0; i < z.length; i++) {
    const c = z.charCodeAt(i);
    const ok = (c >= 48 && c <= 58) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46;
    if (!ok) return false;
  }
  return true;
}

/**
 * The 16-bit groups of one side of `::` (or of the whole address), or undefined when one is bad. An IPv4 tail
 * gives two groups and may only come last (`last`).
 */
function groupsOf(part: string, last: boolean): number[] | undefined {
  if (part === '') return [];
  const texts = part.split(':');
  const groups: number[] = [];
  for (let i = 0; i < texts.length; i++) {
    const g = texts[i] as string;
    if (last && i === texts.length - 1 && g.includes('.')) {
      if (!IPV4.test(g)) return undefined;
      const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
      groups.push((a << 8) | b, (c << 8) | d);
    } else if (isHexGroup(g)) groups.push(Number.parseInt(g, 16));
    else return undefined;
  }
  return groups;
}

/**
 * The eight groups of an IPv6 literal (a zone, `%eth0`, is checked and dropped), or undefined when `text` is
 * not one exactly as net.isIPv6 decides.
 */
function ipv6Groups(text: string): number[] | undefined {
  const percent = text.indexOf('%');
  if (percent !== -1 && !isZone(text.slice(percent + 1))) return undefined;
  const address = percent === -1 ? text : text.slice(0, percent);
  const gap = address.indexOf('::');
  if (gap === -1) {
    const all = groupsOf(address, true);
    return all?.length === 8 ? all : undefined;
  }
  if (address.indexOf('::', gap + 1) !== -1) return undefined;
  const left = groupsOf(address.slice(0, gap), false);
  const right = groupsOf(address.slice(gap + 2), true);
  // `::` stands for one zero group at least.
  if (left === undefined || right === undefined || left.length + right.length > 7) return undefined;
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** The 4 or 16 bytes of an IP literal, or undefined when `text` is not an IPv4/IPv6 literal. */
export function ipToBytes(text: string): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined;
  if (!text.includes(':')) return IPV4.test(text) ? Uint8Array.from(text.split('.'), Number) : undefined;
  const groups = ipv6Groups(text);
  if (groups === undefined) return undefined;
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

/**
 * dgram's `lookup` for sockets that only ever meet IP literals (every socket here: DNS servers, probe peers
 * and bind addresses are addresses, never names). Node's default, dns.lookup, answers a literal unchanged
 * too, but loading node:dns and its per-send tick cost every pod; a name still goes to dns.lookup.
 */
export function literalLookup(
  hostname: string,
  options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = ipFamily(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  const dns = process.getBuiltinModule('node:dns');
  dns.lookup(hostname, options as { family?: number }, (err, address, fam) => callback(err, address, fam));
}
