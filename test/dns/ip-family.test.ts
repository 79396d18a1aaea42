// ipFamily() must agree with node:net's isIP() for every string: it replaces it on the start-up path.
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipFamily, literalLookup } from '../../src/dns/ip-bytes.js';

const octet = fc.oneof(
  fc.integer({ min: 0, max: 300 }).map(String),
  fc.constantFrom('00', '01', '007', '255', '256', '-1', '1e2', ' 1', '0x1', ''),
);
const dotted = fc.array(octet, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.'));
const hostPort = fc.tuple(fc.ipV4(), fc.nat(65535)).map(([a, p]) => `${a}:${p}`);
const v6ish = fc.oneof(
  fc.ipV6(),
  fc.ipV6().map((a) => `${a}%eth0`),
  fc.ipV4Extended(),
);

// Near-misses of IPv6: groups of 0–5 hex digits (some not hex), one to nine of them, `::` anywhere, dotted
// tails with bad octets, zones with good and bad characters.
const hexish = fc.string({ unit: fc.constantFrom('0', '1', '9', 'a', 'F', 'f', 'g'), maxLength: 5 });
const tail = fc.oneof(fc.ipV4(), dotted);
const v6near = fc
  .tuple(
    fc.array(hexish, { minLength: 1, maxLength: 9 }),
    fc.option(fc.nat(9)),
    fc.option(tail),
    fc.option(
      fc.string({ unit: fc.constantFrom('e', 't', 'h', '0', '-', '.', ':', '_', '%', ' '), maxLength: 6 }),
    ),
  )
  .map(([groups, gap, v4, zone]) => {
    const parts = [...groups];
    if (gap !== null) parts.splice(Math.min(gap, parts.length), 0, '');
    let text = parts.join(':');
    if (v4 !== null) text += `:${v4}`;
    if (zone !== null) text += `%${zone}`;
    return text;
  });
const v6chars = fc.string({
  unit: fc.constantFrom('0', '1', 'a', 'F', 'g', ':', ':', '.', '%', 'e', '2', '5'),
  maxLength: 40,
});

describe('ipFamily', () => {
  it.each([
    ['127.0.0.1', 4],
    ['10.96.0.10', 4],
    ['255.255.255.255', 4],
    ['256.1.1.1', 0],
    ['01.2.3.4', 0],
    ['1.2.3', 0],
    ['1.2.3.4.', 0],
    ['::1', 6],
    ['fe80::1%eth0', 6],
    ['::ffff:10.0.0.1', 6],
    ['::FFFF:192.168.1.20', 6],
    ['::ffff:10.0.0.256', 0],
    ['::ffff:10.0.0', 0],
    ['::ffff:', 0],
    ['::ffff:1:2', 6],
    ['::ffff:10.0.0.1%eth0', 6],
    ['127.0.0.1:53', 0],
    ['[::1]:53', 0],
    ['example-job-0.headless-svc.default.svc.cluster.local.', 0],
    ['', 0],
  ])('%s → %i, like net.isIP', (text, family) => {
    expect(ipFamily(text)).toBe(family);
    expect(isIP(text)).toBe(family);
  });

  it('answers 0 for what is not a string, like net.isIP (JavaScript callers)', () => {
    for (const v of [null, undefined, 127001, {}]) {
      expect(ipFamily(v as unknown as string)).toBe(0);
      expect(isIP(v as unknown as string)).toBe(0);
    }
  });

  it('agrees with net.isIP on dotted strings, IP literals and arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(dotted, fc.ipV4(), v6ish, fc.string(), fc.domain(), hostPort), (text) => {
        expect(ipFamily(text)).toBe(isIP(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with net.isIP on near-misses of IPv6 (its own parser, not net.isIPv6)', () => {
    fc.assert(
      fc.property(fc.oneof(v6near, v6chars), (text) => {
        expect(ipFamily(text)).toBe(isIP(text));
      }),
      { numRuns: 30_000 },
    );
  });
});

describe("literalLookup (the UDP sockets' lookup)", () => {
  it('hands an IP literal back at once with its family, as dns.lookup would', () => {
    for (const [text, family] of [
      ['10.244.1.5', 4],
      ['::', 6],
      ['::ffff:10.0.0.1', 6],
      ['fe80::1%eth0', 6],
    ] as const) {
      const got: unknown[] = [];
      literalLookup(text, family, (...args) => got.push(args));
      expect(got).toEqual([[null, text, family]]);
    }
  });
});
