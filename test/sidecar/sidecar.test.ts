// `peer-rendezvous sidecar` as real processes against Knot: exports in a directory, /readyz, signals, and
// replacement pods (a member, pod 0) rejoining the released job with its first generation.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/job.js';
import { type KnotServer, startKnot } from '../helpers/knot.js';
import { type Pod, PodSet } from '../helpers/lifecycle.js';

let knot: KnotServer;
let pods: PodSet;
let dir: string;

beforeAll(async () => {
  knot = await startKnot({ zone: 'cluster.local', ttl: 1 });
  pods = new PodSet(knot, 62, 3);
  dir = mkdtempSync(join(tmpdir(), 'rdv-sidecar-'));
});
afterAll(async () => {
  await knot?.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  pods.killAll();
  await pods.clear();
});

interface Sidecar {
  pod: Pod;
  exportDir: string;
  readyFile: string;
  probe: () => Promise<number>;
}

function sidecar(i: number, gen: number, port: number, probePort: number, extra: string[] = []): Sidecar {
  const exportDir = join(dir, `export-${port}-${i}-${gen}`);
  const readyFile = join(dir, `ready-${port}-${i}-${gen}.json`);
  const pod = pods.start(i, gen, port, [
    'sidecar',
    ...['--export-dir', exportDir, '--ready-file', readyFile, '--probe-port', String(probePort)],
    ...['--export', 'torch,mpi', '--timeout', '30s', ...extra],
  ]);
  const probe = () =>
    new Promise<number>((resolve) => {
      const req = request(
        { host: pods.ip(i, gen), port: probePort, path: '/readyz', timeout: 2000 },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', () => resolve(0));
      req.end();
    });
  return { pod, exportDir, readyFile, probe };
}

const generationOf = (s: Sidecar): string => JSON.parse(readFileSync(s.readyFile, 'utf8')).generation;
const sourced = (s: Sidecar, expr: string): string =>
  execFileSync('sh', ['-c', `. '${s.exportDir}/env' && printf '%s' "${expr}"`], { encoding: 'utf8' });

async function releasedSidecars(port: number, probePort: number, extra: string[] = []): Promise<Sidecar[]> {
  for (const i of [0, 1, 2]) await pods.publish(i);
  const all = [0, 1, 2].map((i) => sidecar(i, 0, port, probePort, extra));
  await Promise.all(all.map((s) => s.pod.waitFor(/ready after .*staying up for replacements/)));
  return all;
}

describe('sidecar', () => {
  it('before the release: /readyz 503, nothing written; at the release: the exports, 200, one generation', async () => {
    const port = await freePort();
    const probePort = await freePort();
    for (const i of [0, 1, 2]) await pods.publish(i);
    const members = [1, 2].map((i) => sidecar(i, 0, port, probePort));
    await members[0]!.pod.waitFor(/index 1 of 3/);
    let code = 0;
    for (let attempt = 0; attempt < 40 && code === 0; attempt++) {
      code = await members[0]!.probe();
      if (code === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(code).toBe(503);
    expect(existsSync(members[0]!.readyFile)).toBe(false);
    expect(existsSync(join(members[0]!.exportDir, 'env'))).toBe(false);
    const coordinator = sidecar(0, 0, port, probePort);
    const all = [coordinator, ...members];
    await Promise.all(all.map((s) => s.pod.waitFor(/staying up for replacements/)));
    expect(await Promise.all(all.map((s) => s.probe()))).toEqual([200, 200, 200]);
    expect(new Set(all.map(generationOf)).size).toBe(1);
    expect(sourced(members[1]!, '$PEER_INDEX $PEER_COUNT $RANK $WORLD_SIZE $MASTER_ADDR')).toBe(
      '2 3 2 3 example-job-0.headless-svc.default.svc.cluster.local',
    );
    const env = JSON.parse(readFileSync(join(members[1]!.exportDir, 'env.json'), 'utf8'));
    expect(env.PEER_ROSTER_FILE).toBe(join(members[1]!.exportDir, 'roster.json'));
    expect(readFileSync(join(members[1]!.exportDir, 'hostfile'), 'utf8')).toContain(
      'example-job-1.headless-svc',
    );
    // Nothing half-written is left behind (temp + rename).
    expect(execFileSync('ls', ['-A', members[1]!.exportDir], { encoding: 'utf8' })).not.toMatch(/\.tmp/);
  }, 30_000);

  it('a replaced member rejoins: the released roster with its new address, the first generation', async () => {
    const port = await freePort();
    const probePort = await freePort();
    const first = await releasedSidecars(port, probePort);
    const generation = generationOf(first[0]!);
    first[2]!.pod.child.kill('SIGKILL');
    await first[2]!.pod.done;
    await pods.publish(2, 1);
    const started = Date.now();
    const again = sidecar(2, 1, port, probePort);
    await again.pod.waitFor(/staying up for replacements/);
    const took = Date.now() - started;
    expect(took).toBeLessThan(15_000); // far below the 30 s timeout: it did not wait for a barrier
    expect(generationOf(again)).toBe(generation);
    const roster = JSON.parse(readFileSync(again.readyFile, 'utf8'));
    expect(roster.peers[2].addresses).toEqual([pods.ip(2, 1)]);
    expect(await again.probe()).toBe(200);
    await first[0]!.pod.waitFor(
      new RegExp(`pod 2 was replaced: it rejoined from ${pods.ip(2, 1).replaceAll('.', '\\.')}`),
    );
    // The others are untouched: still up, still the first generation.
    expect(first.slice(0, 2).map((s) => s.pod.child.exitCode)).toEqual([null, null]);
    expect(await Promise.all(first.slice(0, 2).map((s) => s.probe()))).toEqual([200, 200]);
  }, 40_000);

  it('--token-file: the after-release listener proves the same token (a replaced member rejoins with it)', async () => {
    const port = await freePort();
    const probePort = await freePort();
    const tokenFile = join(dir, `token-${port}`);
    writeFileSync(tokenFile, 'sidecar-secret-0123456789\n');
    const first = await releasedSidecars(port, probePort, ['--token-file', tokenFile]);
    const generation = generationOf(first[0]!);
    first[1]!.pod.child.kill('SIGKILL');
    await first[1]!.pod.done;
    await pods.publish(1, 1);
    const again = sidecar(1, 1, port, probePort, ['--token-file', tokenFile]);
    await again.pod.waitFor(/staying up for replacements/);
    expect(generationOf(again)).toBe(generation);
    await first[0]!.pod.waitFor(/pod 1 was replaced: it rejoined from/);
  }, 40_000);

  it('a replaced pod 0 learns the released roster from a member; a member replaced after it joins the new one', async () => {
    const port = await freePort();
    const probePort = await freePort();
    const first = await releasedSidecars(port, probePort);
    const generation = generationOf(first[1]!);
    first[0]!.pod.child.kill('SIGKILL');
    await first[0]!.pod.done;
    await pods.publish(0, 1);
    const coordinator = sidecar(0, 1, port, probePort);
    await coordinator.pod.waitFor(/staying up for replacements/);
    expect(coordinator.pod.stderr()).toMatch(
      /this pod replaces index 0 of a released job: rejoined with generation/,
    );
    expect(generationOf(coordinator)).toBe(generation);
    const roster = JSON.parse(readFileSync(coordinator.readyFile, 'utf8'));
    expect(roster.peers[0].addresses).toEqual([pods.ip(0, 1)]);
    await Promise.race(
      [first[1]!, first[2]!].map((s) => s.pod.waitFor(/pod 0 was replaced: it rejoined from/)),
    );
    // Now member 1 is replaced too: it joins the replacement coordinator's sidecar.
    first[1]!.pod.child.kill('SIGKILL');
    await first[1]!.pod.done;
    await pods.publish(1, 1);
    const member = sidecar(1, 1, port, probePort);
    await member.pod.waitFor(/staying up for replacements/);
    expect(generationOf(member)).toBe(generation);
    expect(JSON.parse(readFileSync(member.readyFile, 'utf8')).peers[0].addresses).toEqual([pods.ip(0, 1)]);
    expect(first[2]!.pod.child.exitCode).toBeNull();
  }, 45_000);

  it('SIGTERM before the release: exit 143, nothing marked ready; after: exit 0', async () => {
    const port = await freePort();
    const probePort = await freePort();
    await pods.publish(0);
    await pods.publish(1);
    const waiting = sidecar(1, 0, port, probePort);
    await waiting.pod.waitFor(/index 1 of 3/);
    await new Promise((r) => setTimeout(r, 300));
    waiting.pod.child.kill('SIGTERM');
    const before = await waiting.pod.done;
    expect(before.code, before.stderr).toBe(143);
    expect(existsSync(waiting.readyFile)).toBe(false);
    expect(existsSync(join(waiting.exportDir, 'env'))).toBe(false);

    const released = await releasedSidecars(port, probePort);
    released[1]!.pod.child.kill('SIGTERM');
    const after = await released[1]!.pod.done;
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toMatch(/SIGTERM after the release: exiting 0/);
  }, 40_000);
});
