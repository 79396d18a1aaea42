// Pure parts of the rendezvous: backoff arithmetic, frame codec, message validation, HMAC proofs, parsers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMs, MAX_DURATION_MS, parseDuration } from '../../src/duration.js';
import { newNonce, proofInput, prove, verifyProof } from '../../src/rendezvous/auth.js';
import {
  BLIND_POLL,
  backoffCeiling,
  backoffDelay,
  DISCOVERY_POLL,
  discoveryPoll,
  LIVE_POLL,
  livePoll,
  validatePolicy,
} from '../../src/rendezvous/backoff.js';
import { podAddresses } from '../../src/rendezvous/barrier.js';
import { encodeFrame, FrameDecoder } from '../../src/rendezvous/frames.js';
import {
  MAX_ADDRESSES_PER_POD,
  PROTOCOL_VERSION,
  parseMessage,
  type Release,
  releaseProblem,
} from '../../src/rendezvous/messages.js';
import { describeState, formatReport, hintsFor, type PeerReport } from '../../src/rendezvous/peer-state.js';
import { parseVerifyMode } from '../../src/rendezvous/verify.js';

describe('backoff', () => {
  it('grows the ceiling geometrically up to the cap', () => {
    const p = { first: 10, factor: 2, cap: 100, floor: 0 };
    expect([1, 2, 3, 4, 5, 6, 50, 5000].map((a) => backoffCeiling(p, a))).toEqual([
      10, 20, 40, 80, 100, 100, 100, 100,
    ]);
  });
  it('draws full jitter within [floor, ceiling] for any attempt and random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          for (const p of [BLIND_POLL, LIVE_POLL]) {
            const d = backoffDelay(p, attempt, () => r);
            expect(d).toBeGreaterThanOrEqual(p.floor);
            expect(d).toBeLessThanOrEqual(backoffCeiling(p, attempt));
          }
        },
      ),
    );
  });
  it('spans the whole interval (full jitter, not equal jitter)', () => {
    const p = { first: 1000, factor: 2, cap: 8000, floor: 0 };
    expect(backoffDelay(p, 4, () => 0)).toBe(0);
    expect(backoffDelay(p, 4, () => 0.5)).toBe(4000);
    expect(backoffDelay(p, 4, () => 0.999999)).toBe(8000);
  });
  it('polls a live name fast at first, then ever slower', () => {
    expect(livePoll(0)).toBe(LIVE_POLL);
    expect(livePoll(4_999).cap).toBe(50);
    expect(livePoll(5_000).cap).toBe(500);
    expect(livePoll(60_000).cap).toBe(2_000);
    // An hour of a record that never comes: at most one question every 10 ms … 2 s, mean ≥ 1 s.
    const meanInterval = (livePoll(3_600_000).cap + livePoll(3_600_000).floor) / 2;
    expect(meanInterval).toBeGreaterThanOrEqual(1000);
  });
  it('discovers fast while members come and go, then ever slower', () => {
    expect(discoveryPoll(0, false)).toBe(DISCOVERY_POLL);
    expect(discoveryPoll(0, true).cap).toBe(2000);
    expect(discoveryPoll(10_000, false).cap).toBe(1000);
    expect(discoveryPoll(10_000, true).cap).toBe(2000);
    expect(discoveryPoll(60_000, false).cap).toBe(5000);
    expect(discoveryPoll(60_000, true).floor).toBe(DISCOVERY_POLL.floor);
  });
  it('never repeats faster than the floor', () => {
    expect(backoffDelay(LIVE_POLL, 1, () => 0)).toBe(LIVE_POLL.floor);
  });
  it('treats a broken random source as 0', () => {
    expect(backoffDelay({ first: 10, factor: 2, cap: 100, floor: 1 }, 3, () => Number.NaN)).toBe(1);
  });
  it('rejects bad policies naming the field', () => {
    expect(() => validatePolicy({ first: -1, factor: 2, cap: 1, floor: 0 })).toThrow('Expected `first`');
    expect(() => validatePolicy({ first: 1, factor: 0.5, cap: 1, floor: 0 })).toThrow('Expected `factor`');
    expect(() => validatePolicy({ first: 1, factor: 2, cap: 1, floor: 5 })).toThrow('Expected `floor`');
  });
});

describe('frames', () => {
  const json = fc.jsonValue();
  it('round-trips any JSON value, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(json, { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1 }),
        (values, cuts) => {
          const bytes = Buffer.concat(values.map((v) => encodeFrame(v)));
          const dec = new FrameDecoder(1 << 20);
          const out: unknown[] = [];
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const step = cuts[i % cuts.length]!;
            out.push(...dec.push(bytes.subarray(at, at + step)));
            at += step;
          }
          expect(out).toEqual(values.map((v) => JSON.parse(JSON.stringify(v))));
          expect(dec.buffered).toBe(0);
        },
      ),
    );
  });
  it('rejects a declared length above the limit before buffering the payload', () => {
    const dec = new FrameDecoder(100);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(101);
    expect(() => dec.push(head)).toThrow(/101 bytes is larger than the limit of 100/);
  });
  it('rejects a frame that is not JSON', () => {
    const body = Buffer.from('{nope');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    expect(() => new FrameDecoder(100).push(Buffer.concat([head, body]))).toThrow(/not valid JSON/);
  });
  it('never throws anything but its own error on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          new FrameDecoder(64).push(Buffer.from(bytes));
        } catch (e) {
          expect((e as { code?: string }).code).toBe('RDV_ERR_PROTOCOL');
        }
      }),
    );
  });
});

describe('messages', () => {
  const v = PROTOCOL_VERSION;
  it('accepts each well-formed message', () => {
    const ok = [
      { v, type: 'hello', job: 'ns/j/3', index: 1, incarnation: 'ab', purpose: 'join', nonce: 'n' },
      { v, type: 'challenge', job: 'ns/j/3', index: 0, incarnation: 'ab', nonce: 'n' },
      { v, type: 'auth', proof: 'ff' },
      { v, type: 'accepted', proof: '' },
      { v, type: 'reject', code: 'busy', reason: 'busy, retry' },
      { v, type: 'reject', code: 'auth', reason: 'x' },
      { v, type: 'ready', epoch: 0 },
      { v, type: 'ready', epoch: 3, alive: 2150 },
      { v, type: 'peer', epoch: 1, index: 2, address: '10.0.0.1', incarnation: 'x' },
      { v, type: 'status', ready: 1, total: 3, missing: [{ index: 2, state: 'nxdomain' }] },
      { v, type: 'release', generation: 'g', addresses: [['10.0.0.1'], []] },
      { v, type: 'ack', generation: 'g' },
    ];
    for (const m of ok) expect(parseMessage(m)).toEqual(m);
  });
  it.each([
    [null, /not an object/],
    [[1], /not an object/],
    [{ v: 1, type: 'ack', generation: 'g' }, /speaks protocol version 1, this agent 2/],
    [{ v: 3, type: 'ack', generation: 'g' }, /speaks protocol version 3, this agent 2/],
    [{ type: 'ack', generation: 'g' }, /speaks protocol version none, this agent 2/],
    [{ v: 'x'.repeat(60_000), type: 'ack' }, /speaks protocol version "x{15}…, this agent 2/],
    [{ v: 2, type: 'accepted' }, /malformed "accepted"/],
    [{ v: 2, type: 'welcome', job: 'j', index: 0, incarnation: 'i', nonce: 'n', proof: '' }, /malformed/],
    [
      { v: 2, type: 'hello', job: 'j', index: -1, incarnation: 'i', purpose: 'join', nonce: 'n' },
      /malformed "hello"/,
    ],
    [
      { v: 2, type: 'hello', job: 'j', index: 0, incarnation: 'i', purpose: 'steal', nonce: 'n' },
      /malformed/,
    ],
    [{ v: 2, type: 'release', generation: 'g', addresses: [[1]] }, /malformed/],
    [{ v: 2, type: 'shutdown' }, /malformed "shutdown"/],
    [{ v: 2, type: 'ready', epoch: 0, alive: -1 }, /malformed "ready"/],
    [{ v: 2, type: 'ready', epoch: 0, alive: '5' }, /malformed "ready"/],
  ])('rejects %j', (raw, message) => {
    expect(() => parseMessage(raw)).toThrow(message);
  });
  it('reads a reject of any protocol version as one of its own (an unknown code as protocol)', () => {
    expect(parseMessage({ v: 7, type: 'reject', code: 'version', reason: 'speak 7' })).toEqual({
      v: PROTOCOL_VERSION,
      type: 'reject',
      code: 'version',
      reason: 'speak 7',
    });
    expect(parseMessage({ v: 7, type: 'reject', code: 'too-new', reason: 'r' })).toMatchObject({
      code: 'protocol',
    });
    expect(() => parseMessage({ v: 7, type: 'reject', code: 'version' })).toThrow(
      /speaks protocol version 7/,
    );
  });
  it('never accepts garbage objects as hello', () => {
    fc.assert(
      fc.property(fc.object(), (o) => {
        try {
          parseMessage({ ...o, v: PROTOCOL_VERSION, type: 'hello' });
        } catch (e) {
          expect((e as { code?: string }).code).toBe('RDV_ERR_PROTOCOL');
        }
      }),
    );
  });
});

describe('HMAC proofs', () => {
  const dialler = { index: 1, incarnation: 'inc-1', nonce: newNonce() };
  const acceptor = { index: 0, incarnation: 'inc-0', nonce: newNonce() };
  it('verifies with the same token and rejects another token, another input or no token', () => {
    const input = proofInput('acceptor', 'ns/job/3', 'join', dialler, acceptor);
    const proof = prove('secret', input);
    expect(proof).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyProof('secret', input, proof)).toBe(true);
    expect(verifyProof('other', input, proof)).toBe(false);
    expect(verifyProof('secret', `${input}x`, proof)).toBe(false);
    expect(verifyProof(undefined, input, proof)).toBe(false);
    expect(verifyProof('secret', input, '')).toBe(false);
    expect(verifyProof(undefined, input, '')).toBe(true);
    expect(verifyProof('secret', input, 'zz')).toBe(false);
  });
  it('binds a proof to its role, both identities, both nonces, the job and the purpose', () => {
    const base = proofInput('initiator', 'ns/job/3', 'join', dialler, acceptor);
    const variants = [
      proofInput('acceptor', 'ns/job/3', 'join', dialler, acceptor),
      proofInput('initiator', 'ns/job/3', 'join', acceptor, dialler),
      proofInput('initiator', 'ns/job/4', 'join', dialler, acceptor),
      proofInput('initiator', 'ns/job/3', 'probe', dialler, acceptor),
      proofInput('initiator', 'ns/job/3', 'join', { ...dialler, nonce: newNonce() }, acceptor),
      proofInput('initiator', 'ns/job/3', 'join', dialler, { ...acceptor, incarnation: 'other' }),
      proofInput('initiator', 'ns/job/3', 'join', dialler, { ...acceptor, index: 2 }),
    ];
    for (const v of variants) expect(verifyProof('secret', v, prove('secret', base))).toBe(false);
  });
  it('hands out 128-bit nonces that never repeat, across refills of the random pool', () => {
    const nonces = Array.from({ length: 1000 }, () => newNonce());
    for (const n of nonces) expect(n).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(nonces).size).toBe(nonces.length);
  });
  it('never puts the token in the proof input', () => {
    expect(proofInput('initiator', 'j', 'join', dialler, acceptor)).not.toContain('secret');
  });
});

describe('release check', () => {
  const release = (addresses: string[][]): Release => ({ v: 2, type: 'release', generation: 'g', addresses });
  it('accepts up to the cap of IP addresses per pod', () => {
    const full = Array.from({ length: MAX_ADDRESSES_PER_POD }, (_, i) => `10.0.0.${i + 1}`);
    expect(releaseProblem(release([['10.0.0.1'], full, ['fd00::1']]), 3)).toBeUndefined();
  });
  it('names the pod and the limit when one lists too many, and other problems', () => {
    const over = Array.from({ length: MAX_ADDRESSES_PER_POD + 1 }, (_, i) => `10.0.0.${i + 1}`);
    expect(releaseProblem(release([['10.0.0.1'], over]), 2)).toBe(
      `release lists 17 addresses for pod 1, at most ${MAX_ADDRESSES_PER_POD} accepted`,
    );
    expect(releaseProblem(release([['10.0.0.1']]), 2)).toBe('release lists 1 pods, expected 2');
    expect(releaseProblem(release([['10.0.0.1'], ['pod-1.svc']]), 2)).toMatch(
      /"pod-1.svc" for pod 1, not an IP/,
    );
  });
  it('the coordinator sends the connecting address first, then the DNS ones, capped', () => {
    const dns = Array.from({ length: 17 }, (_, i) => `10.0.1.${i + 1}`);
    const list = podAddresses({ address: '10.0.1.9', dnsAddresses: dns });
    expect(list).toHaveLength(MAX_ADDRESSES_PER_POD);
    expect(list[0]).toBe('10.0.1.9');
    expect(new Set(list).size).toBe(list.length);
    expect(list.slice(1)).toEqual(dns.filter((a) => a !== '10.0.1.9').slice(0, MAX_ADDRESSES_PER_POD - 1));
    fc.assert(
      fc.property(fc.array(fc.ipV4(), { maxLength: 40 }), fc.ipV4(), (addrs, own) => {
        const out = podAddresses({ address: own, dnsAddresses: addrs });
        expect(out[0]).toBe(own);
        expect(out.length).toBeLessThanOrEqual(MAX_ADDRESSES_PER_POD);
        expect(releaseProblem(release([[own], out]), 2)).toBeUndefined();
      }),
    );
  });
});
describe('durations and verify modes', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['250ms', 250],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['2', 2000],
    ['0.5', 500],
  ])('parses %s', (v, ms) => expect(parseDuration(v, 'x')).toBe(ms));
  it.each(['', 'abc', '5x', '-1s', '1s x', 's'])('rejects %j naming it', (v) => {
    expect(() => parseDuration(v, 'flag --timeout')).toThrow(/from flag --timeout is not valid/);
  });
  it('accepts up to what one timer holds (2^31-1 ms) and refuses longer, naming value and maximum', () => {
    expect(parseDuration('596h31m23s', 'x')).toBe(2_147_483_000);
    expect(parseDuration('2147483.647', 'x')).toBe(MAX_DURATION_MS);
    for (const v of ['1000h', '596h31m24s', '2147483.648', 1e12]) {
      expect(() => parseDuration(v, 'flag --timeout')).toThrow(
        new RegExp(`duration "?${v}"? from flag --timeout is too long: at most 2147483647 ms`),
      );
    }
  });
  it('formats ms', () => {
    expect(formatMs(45)).toBe('45 ms');
    expect(formatMs(1234)).toBe('1.23 s');
  });
  it('parses verify modes', () => {
    expect(parseVerifyMode('STAR')).toEqual({ kind: 'star' });
    expect(parseVerifyMode('tcp:22')).toEqual({ kind: 'tcp', port: 22 });
    for (const bad of ['tcp:', 'tcp:0', 'tcp:70000', 'ring', ''])
      expect(() => parseVerifyMode(bad, 'flag --verify')).toThrow(/from flag --verify/);
  });
});

describe('peer reports', () => {
  const r = (index: number, state: PeerReport['state'], since = 0): PeerReport => ({
    index,
    fqdn: `j-${index}.s.ns.svc.cluster.local.`,
    state,
    detail: '',
    since,
    seenBy: 'self',
  });
  it('says what and since when', () => {
    expect(describeState(r(1, 'nxdomain', 0), 12_400)).toBe('NXDOMAIN since 12 s');
    expect(formatReport([r(1, 'connection-refused', 0)], 3000)).toMatch(
      /1 {2}j-1\.s\.ns\.svc\.cluster\.local\. {2}connection refused since 3 s/,
    );
  });
  it('caps the table', () => {
    const rows = Array.from({ length: 60 }, (_, i) => r(i, 'nxdomain'));
    expect(formatReport(rows, 0, 50)).toMatch(/… and 10 more$/);
  });
  it('hints by state', () => {
    expect(hintsFor([r(1, 'servfail')], { total: 2 }).join()).toMatch(/SERVFAIL/);
    expect(hintsFor([r(1, 'connection-refused')], { total: 2 }).join()).toMatch(/same --port/);
    expect(hintsFor([r(1, 'nxdomain')], { total: 2, selfState: 'ready' })).toEqual([]);
    expect(hintsFor([r(1, 'cname-loop')], { total: 2 }).join()).toMatch(/CNAME chain that comes back/);
    expect(hintsFor([r(0, 'busy')], { total: 2, port: 29600 })).toEqual([
      expect.stringMatching(
        /^a peer was still busy at the deadline: something else answers on port 29600 — another server on the port, or the coordinator is shedding connections under load\/attack/,
      ),
    ]);
  });
  it('names the socket error behind a DNS timeout in the hint', () => {
    const timeout = (detail: string): PeerReport => ({ ...r(1, 'dns-timeout'), detail });
    const only = (detail: string) => hintsFor([timeout(detail)], { total: 2 });
    expect(only('ECONNREFUSED from 127.0.0.1:53')).toEqual([
      expect.stringMatching(/^nothing listens on the DNS/),
    ]);
    expect(only('EMFILE from 127.0.0.1:53')).toEqual([expect.stringMatching(/out of file descriptors/)]);
    expect(only('no answer from 127.0.0.1:53')).toEqual([
      expect.stringMatching(/^the cluster DNS does not answer/),
    ]);
    expect(only('question unanswered')).toEqual([expect.stringMatching(/^the cluster DNS does not answer/)]);
    expect(
      hintsFor([timeout('ECONNREFUSED from a'), timeout('no answer from b')], { total: 3 }),
    ).toHaveLength(2);
  });
});
