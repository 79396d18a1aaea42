// IP literals ⇄ RDATA bytes for the record model, round-tripped with fast-check.
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToIp, canonicalIp, ipToBytes } from '../../src/dns/ip-bytes.js';

describe('ip-bytes', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::', 'fe80::'],
    ['::ffff:10.1.2.3', '::ffff:a01:203'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])('canonicalises %s as %s (RFC 5952)', (input, canonical) => {
    expect(canonicalIp(input)).toBe(canonical);
  });

  it('rejects what is not an IP literal', () => {
    for (const bad of ['', 'localhost', '10.0.0', '10.0.0.256', '1::2::3', '::g']) {
      expect(ipToBytes(bad), bad).toBeUndefined();
    }
  });

  it('round-trips any 16 bytes through the canonical text form', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = bytesToIp(bytes);
        expect(isIP(text)).toBe(6);
        expect(ipToBytes(text)).toEqual(bytes);
        expect(canonicalIp(text)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips any 4 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        expect(ipToBytes(bytesToIp(bytes))).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });
});
