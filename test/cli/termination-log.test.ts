// /dev/termination-log (what `kubectl describe pod` shows): the 4 KiB keep the error and the hints of a
// 100-pod job, and failures before the wait (configuration, usage) are written there too. Real processes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fitTerminationLog } from '../../src/cli/termination-log.js';
import { ClusterDnsServer } from '../../src/dns/server.js';
import { runBin, startBin } from '../helpers/cli.js';
import { freePort, JOB, NS, SVC } from '../helpers/job.js';

const work = mkdtempSync(join(tmpdir(), 'rdv-termlog-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A Job name near the 63-character label limit, as generated names get. */
const LONG_JOB = 'llm-pretraining-run-2026-12-02-with-a-descriptive-suffix';
let n = 0;
function logFile(): string {
  const path = join(work, `termination-log-${n++}`);
  writeFileSync(path, '');
  return path;
}

const identity = (index: number, completions: number, job = JOB) => [
  ...['--index', String(index), '--completions', String(completions), '--job-name', job],
  ...['--subdomain', SVC, '--namespace', NS, '--cluster-domain', 'cluster.local'],
  ...['--hostname', `${job}-${index}`, '--hosts-file', '/nonexistent/hosts'],
  ...['--resolv-conf', '/nonexistent/resolv.conf', '--namespace-file', '/nonexistent/namespace'],
];

describe('the termination log', () => {
  it('with 100 pods and no Service keeps the error and the hints within 4 KiB', async () => {
    const dns = await ClusterDnsServer.start({ host: '127.0.0.1', port: 0, ttl: 5 }); // no Service at all
    try {
      const log = logFile();
      const pod = startBin([
        'wait',
        ...identity(0, 100, LONG_JOB),
        ...['--listen', '127.54.0.1', '--port', String(await freePort())],
        ...['--dns-server', `${dns.address.host}:${dns.address.port}`, '--timeout', '3s'],
        ...['--progress-interval', '0', '--termination-log', log],
      ]);
      const r = await pod.done;
      expect(r.code, r.stderr).toBe(124);
      const written = readFileSync(log, 'utf8');
      expect(Buffer.byteLength(written)).toBeLessThanOrEqual(4096);
      // The full summary is far longer: the first line and the end (the hints) are what is kept.
      expect(r.stderr.length).toBeGreaterThan(4096);
      expect(written.split('\n')[0]).toMatch(/^peers not ready after 3\.\d s: 99 of 100 unfinished/);
      expect(written).toMatch(/\n\.\.\. \d+ lines left out \.\.\.\n/);
      expect(written).toMatch(/hints:\n {2}- no peer name resolves, this pod's own included/);
      const lastHint = r.stderr
        .trimEnd()
        .split('\n')
        .filter((l) => l.startsWith('  - '))
        .at(-1)!;
      expect(written.endsWith(lastHint)).toBe(true);
      expect(written).not.toContain(`${LONG_JOB}-1.${SVC}`); // the first rows of the table went
    } finally {
      await dns.close();
    }
  });

  it('also gets a configuration error (78) and an unknown variable (78) before any waiting', () => {
    const log = logFile();
    const bad = runBin(['wait', ...identity(5, 3), '--termination-log', log]);
    expect(bad.code).toBe(78);
    const written = readFileSync(log, 'utf8');
    expect(written).toMatch(/^peer-rendezvous: completion index 5 from flag --index .*\[RDV_ERR_CONFIG\]$/);
    expect(bad.stderr).toContain(written.trim());

    const log2 = logFile();
    const misspelt = runBin(['wait', ...identity(0, 1)], {
      PEER_RENDEZVOUS_TERMINATION_LOG: log2,
      PEER_RENDEZVOUS_TOKN: 'x',
    });
    expect(misspelt.code).toBe(78);
    expect(readFileSync(log2, 'utf8')).toContain('did you mean PEER_RENDEZVOUS_TOKEN?');
  });

  it('is not touched by commands a pod does not run as its agent', () => {
    const log = logFile();
    const r = runBin(['explain', '--index', 'x', '--termination-log', log]);
    expect(r.code).toBe(64);
    expect(readFileSync(log, 'utf8')).toBe('');
  });
});

describe('fitTerminationLog (pure)', () => {
  it('returns what fits unchanged; otherwise the first line, a gap line and whole last lines, ≤ max bytes', () => {
    expect(fitTerminationLog('a\nb', 10)).toBe('a\nb');
    const line = fc.string({ unit: fc.constantFrom('a', 'é', '😀', ' '), maxLength: 40 });
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 64, max: 4096 }),
        (lines, max) => {
          const text = lines.join('\n');
          const out = fitTerminationLog(text, max);
          expect(Buffer.byteLength(out)).toBeLessThanOrEqual(max);
          const kept = out.split('\n');
          if (Buffer.byteLength(text) <= max) expect(out).toBe(text);
          else if (kept.length === 1) expect(text.startsWith(out)).toBe(true);
          else {
            expect(kept[0]).toBe(lines[0]);
            const gap = /^\.\.\. (\d+) lines left out \.\.\.$/.exec(kept[1]!);
            expect(gap).not.toBeNull();
            const tail = kept.slice(2);
            expect(Number(gap![1])).toBe(lines.length - 1 - tail.length);
            expect(tail).toEqual(lines.slice(lines.length - tail.length));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
