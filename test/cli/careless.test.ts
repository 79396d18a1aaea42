// A careless configuration is refused at once, naming the value and what was meant: misspelt flags and
// PEER_RENDEZVOUS_* names, durations no timer holds, a port that is not a number — all as real processes.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../../src/cli/did-you-mean.js';
import { fastParse } from '../../src/cli/fast-path.js';
import { KNOWN_ENV_NAMES } from '../../src/cli/parser.js';
import { runBin } from '../helpers/cli.js';
import { freePort } from '../helpers/job.js';

const work = mkdtempSync(join(tmpdir(), 'rdv-careless-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A one-pod mesh on 127.0.0.1: released at once, no DNS needed. */
async function onePod(): Promise<string[]> {
  return [
    ...['--index', '0', '--completions', '1', '--peers', '127.0.0.1', '--listen', '127.0.0.1'],
    ...['--port', String(await freePort()), '--hosts-file', '/nonexistent/hosts'],
    ...['--resolv-conf', '/nonexistent/resolv.conf', '--namespace-file', '/nonexistent/namespace'],
  ];
}

describe('misspelt PEER_RENDEZVOUS_* names', () => {
  it('PEER_RENDEZVOUS_TOKN=x is a configuration error (78) naming PEER_RENDEZVOUS_TOKEN; nothing runs', async () => {
    const marker = join(work, 'ran');
    const r = runBin([...(await onePod()), '--', 'touch', marker], { PEER_RENDEZVOUS_TOKN: 'x' });
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toContain(
      'env PEER_RENDEZVOUS_TOKN (did you mean PEER_RENDEZVOUS_TOKEN?) is not a setting of peer-rendezvous',
    );
    expect(r.stderr).toContain('[RDV_ERR_CONFIG]');
    expect(existsSync(marker)).toBe(false);
  });

  it('names every unknown variable, with a suggestion only where one is close', async () => {
    const r = runBin(['wait', ...(await onePod())], {
      PEER_RENDEZVOUS_TIMOUT: '5s',
      // Far from every name (SHINY is 3 edits from KIND, manifest --kind's variable).
      PEER_RENDEZVOUS_SPARKLY: '1',
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(
      'env PEER_RENDEZVOUS_SPARKLY, PEER_RENDEZVOUS_TIMOUT (did you mean PEER_RENDEZVOUS_TIMEOUT?) are not settings',
    );
  });

  it("accepts another command's setting (PEER_RENDEZVOUS_FORMAT is env's, given to run)", async () => {
    const r = runBin([...(await onePod()), '--', 'sh', '-c', 'exit 5'], { PEER_RENDEZVOUS_FORMAT: 'json' });
    expect(r.code, r.stderr).toBe(5);
  });

  it('the fast path leaves a name its command does not read to yargs, which knows every command', () => {
    expect(fastParse(['--', 'true'], { PEER_RENDEZVOUS_TOKN: 'x' })).toBeUndefined();
    expect(fastParse(['--', 'true'], { PEER_RENDEZVOUS_FORMAT: 'json' })).toBeUndefined();
    expect(fastParse(['--', 'true'], { PEER_RENDEZVOUS_TOKEN: 'x', OTHER_TOKN: 'y' })).toMatchObject({
      command: 'run',
      args: { token: 'x' },
    });
    for (const name of ['PEER_RENDEZVOUS_TOKEN', 'PEER_RENDEZVOUS_FORMAT', 'PEER_RENDEZVOUS_IMAGE']) {
      expect(KNOWN_ENV_NAMES.has(name)).toBe(true);
    }
  });
});

describe('misspelt flags', () => {
  it.each([
    [['--tmeout', '5s', '--', 'true'], 'Unknown argument: --tmeout (did you mean --timeout?)'],
    [['wait', '--tiemout=5s'], 'Unknown argument: --tiemout (did you mean --timeout?)'],
    [['--no-exce', '--', 'true'], 'Unknown argument: --exce (did you mean --exec?)'],
    [['env', '--fromat', 'json'], 'Unknown argument: --fromat (did you mean --format?)'],
    [['manifest', '--nme', 'x'], 'Unknown argument: --nme (did you mean --name?)'],
    [['wait', '--zzzzzz'], 'Unknown argument: --zzzzzz [RDV_ERR_USAGE]'],
  ])('%j is a usage error (64): %s', (argv, message) => {
    const r = runBin(argv);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(message);
  });
});

describe('values no timer or socket can take', () => {
  it('--timeout 1000h exits 78 at once naming the value and the maximum (not 124 after 1 ms)', async () => {
    for (const [argv, env] of [
      [['--timeout', '1000h'], {}],
      [[], { PEER_RENDEZVOUS_TIMEOUT: '1000h' }],
    ] as const) {
      const r = runBin(['wait', ...(await onePod()), ...argv], env);
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toMatch(
        /duration "1000h" from (flag --timeout|env PEER_RENDEZVOUS_TIMEOUT) is too long/,
      );
      expect(r.stderr).toContain('at most 2147483647 ms');
      expect(r.stderr).not.toMatch(/TimeoutOverflowWarning|released/);
    }
  });

  it('the longest accepted timeout is taken as it is (596h: the one-pod mesh is released)', async () => {
    const r = runBin(['wait', ...(await onePod()), '--timeout', '596h']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/released after/);
  });

  it('--port abc and PEER_RENDEZVOUS_PORT=abc are both usage errors (64) naming "abc", not NaN', async () => {
    const flags = (await onePod()).filter((_, i, a) => a[i] !== '--port' && a[i - 1] !== '--port');
    const byFlag = runBin(['wait', ...flags, '--port', 'abc']);
    const byEnv = runBin(['wait', ...flags], { PEER_RENDEZVOUS_PORT: 'abc' });
    for (const r of [byFlag, byEnv]) {
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain('"abc"');
      expect(r.stderr).not.toContain('NaN');
    }
    expect(byFlag.stderr).toContain(
      'port "abc" from flag --port is not valid: expected an integer from 1 to 65535',
    );
    const outOfRange = runBin(['wait', ...flags, '--port=70000']);
    expect(outOfRange.code).toBe(64);
    expect(outOfRange.stderr).toContain('port "70000" from flag --port is not valid');
  });
});

describe('did you mean (pure)', () => {
  it('suggests the closest name within 2 edits, or the name it is a prefix of', () => {
    const options = ['timeout', 'token', 'port', 'progress-interval', 'verify', 'verbose'];
    expect(closest('tmeout', options)).toBe('timeout');
    expect(closest('tiemout', options)).toBe('timeout'); // a transposition is one edit
    expect(closest('tokn', options)).toBe('token');
    expect(closest('progress', options)).toBe('progress-interval');
    expect(closest('verfy', options)).toBe('verify');
    expect(closest('zzzzzz', options)).toBeUndefined();
    expect(closest('timeout', options)).toBeUndefined(); // the name itself is no suggestion
    expect(didYouMean('prot', options, '--')).toBe(' (did you mean --port?)');
  });

  it('edit distance: 0 only for equal strings, symmetric, at most the longer length, one per edit', () => {
    const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '-'), maxLength: 8 });
    fc.assert(
      fc.property(word, word, (a, b) => {
        const d = editDistance(a, b);
        expect(d === 0).toBe(a === b);
        expect(editDistance(b, a)).toBe(d);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
        expect(editDistance(`${a}x`, a)).toBe(1);
      }),
      { numRuns: 500 },
    );
  });
});
