// The mesh probe's datagrams (probe-datagram.ts): the codec round-trips whatever it can send, drops whatever
// else arrives, and every proof is bound to its step, both identities and the dialler's nonce.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeProbe,
  MAX_PROBE_DATAGRAM,
  type ProbeDatagram,
  type ProbeParties,
  parseProbe,
  proveStep,
  verifyStep,
} from '../../src/rendezvous/probe-datagram.js';

const hex = fc.stringMatching(/^[0-9a-f]{1,32}$/);
const datagram: fc.Arbitrary<ProbeDatagram> = fc.oneof(
  fc.record({
    step: fc.constant('open' as const),
    job: fc.string({ maxLength: 80 }),
    from: fc.nat(100_000),
    inc: hex,
    to: fc.nat(100_000),
    toInc: hex,
    n: hex,
    proof: fc.oneof(fc.constant(''), fc.stringMatching(/^[0-9a-f]{64}$/)),
  }),
  fc.record({
    step: fc.constant('answer' as const),
    job: fc.string({ maxLength: 80 }),
    from: fc.nat(100_000),
    inc: hex,
    to: fc.nat(100_000),
    n: hex,
    proof: fc.oneof(fc.constant(''), fc.stringMatching(/^[0-9a-f]{64}$/)),
  }),
);

const TOKEN = '0123456789abcdef0123456789abcdef';
const parties: ProbeParties = {
  job: 'ns/job/4',
  dialler: { index: 1, incarnation: 'aaaa0000aaaa0000' },
  acceptor: { index: 2, incarnation: 'bbbb0000bbbb0000' },
  n: '00112233445566778899aabbccddeeff',
};

describe('probe datagrams', () => {
  it('parse(encode(d)) is d for every datagram an agent sends', () => {
    fc.assert(
      fc.property(datagram, (d) => {
        const bytes = encodeProbe(d);
        if (bytes.length > MAX_PROBE_DATAGRAM) return;
        expect(parseProbe(bytes)).toEqual(d);
      }),
    );
  });

  it('drops whatever else arrives without throwing: random bytes, other JSON, other versions, bad fields', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const d = parseProbe(Buffer.from(b));
        // Random bytes are next to never a probe; whatever parses must be a well-formed one.
        if (d) expect(parseProbe(encodeProbe(d))).toEqual(d);
      }),
    );
    const good = JSON.parse(
      encodeProbe({
        step: 'open',
        job: 'j',
        from: 1,
        inc: 'ab',
        to: 2,
        toInc: 'cd',
        n: 'ef',
        proof: '',
      }).toString(),
    );
    expect(parseProbe(Buffer.from(JSON.stringify(good)))).toBeDefined();
    const bad: Record<string, unknown>[] = [
      { ...good, v: 1 },
      { ...good, t: 'hello' },
      { ...good, t: 'finish' },
      { ...good, i: -1 },
      { ...good, i: 1.5 },
      { ...good, to: '2' },
      { ...good, inc: 'XYZ' },
      { ...good, n: '' },
      { ...good, p: 'not hex' },
      { ...good, toInc: undefined },
      { ...good, t: 'answer' }, // an answer carries no toInc
      { ...good, job: 7 },
    ];
    for (const b of bad)
      expect(parseProbe(Buffer.from(JSON.stringify(b))), JSON.stringify(b)).toBeUndefined();
    expect(parseProbe(Buffer.from('[1,2]'))).toBeUndefined();
    expect(parseProbe(Buffer.from('null'))).toBeUndefined();
    expect(parseProbe(Buffer.from('{"v":2'))).toBeUndefined();
    // Longer than a probe ever is: not even parsed.
    expect(
      parseProbe(Buffer.from(JSON.stringify({ ...good, job: 'x'.repeat(MAX_PROBE_DATAGRAM) }))),
    ).toBeUndefined();
  });

  it('a proof checks out for its own step and parties only', () => {
    for (const step of ['open', 'answer'] as const) {
      const proof = proveStep(TOKEN, step, parties);
      expect(proof).toMatch(/^[0-9a-f]{64}$/);
      expect(verifyStep(TOKEN, step, parties, proof)).toBe(true);
      const other = step === 'open' ? 'answer' : 'open';
      expect(verifyStep(TOKEN, other, parties, proof)).toBe(false);
      expect(verifyStep(`${TOKEN}x`, step, parties, proof)).toBe(false);
      expect(verifyStep(TOKEN, step, { ...parties, job: 'ns/other/4' }, proof)).toBe(false);
      expect(verifyStep(TOKEN, step, { ...parties, n: `${parties.n}0` }, proof)).toBe(false);
      expect(
        verifyStep(TOKEN, step, { ...parties, dialler: { ...parties.dialler, incarnation: 'cc' } }, proof),
      ).toBe(false);
      expect(
        verifyStep(TOKEN, step, { ...parties, acceptor: { ...parties.acceptor, incarnation: 'cc' } }, proof),
      ).toBe(false);
      // The roles swapped (an answer reflected as an open of the other direction) is another input.
      const swapped = { ...parties, dialler: parties.acceptor, acceptor: parties.dialler };
      expect(verifyStep(TOKEN, step, swapped, proof)).toBe(false);
      // Not the TCP handshake's proof either (its purpose is `probe`).
      expect(verifyStep(TOKEN, step, parties, '')).toBe(false);
    }
  });

  it('without a token the proof is empty, and only an empty proof is taken', () => {
    expect(proveStep(undefined, 'open', parties)).toBe('');
    expect(verifyStep(undefined, 'open', parties, '')).toBe(true);
    expect(verifyStep(undefined, 'open', parties, proveStep(TOKEN, 'open', parties))).toBe(false);
    expect(verifyStep(TOKEN, 'open', parties, '')).toBe(false);
  });
});
