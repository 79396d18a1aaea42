// peer-rendezvous as the container entrypoint in network-namespace pods, Knot as the cluster DNS (records
// published as pods become ready): the seed's example, late pods, a restart, init-container mode, --verify tcp.
// Uses the built CLI (npm run build first); Linux, root (CI runs as root).
import { describe, expect, it } from 'vitest';
import { type NetnsJobResult, runNetnsJob } from '../../src/simulate/netns-job.js';
import { seedScript } from '../../src/simulate/seed-script.js';
import { strangerCommand } from '../../src/simulate/stranger.js';
import { agentCommand, cliCommand, expectAllExitedZero } from '../helpers/netns-pods.js';
import { requireNetns } from './root.js';

const RELEASED = 'WORKLOAD STARTED';
const N = 3;

const agent = (args: readonly string[], workload: readonly string[] = ['echo', RELEASED]) =>
  agentCommand(['--completions', String(N), '--timeout', '20s', ...args], workload);

function expectAllReleased(result: NetnsJobResult): void {
  expectAllExitedZero(result);
  for (const pod of result.pods) {
    expect(pod.releasedAtMs, pod.hostname).toBeDefined();
    // Nobody starts before the last pod's record exists.
    expect(pod.releasedAtMs!).toBeGreaterThanOrEqual(result.lastPublishAtMs);
  }
}

describe('peer-rendezvous in network-namespace pods with Knot', () => {
  it("runs the seed's example with the agent as entrypoint: every first ping succeeds", async () => {
    requireNetns();
    const result = await runNetnsJob({
      n: N,
      command: () => agent([], ['bash', '-c', `${seedScript(N)}echo ${JSON.stringify(RELEASED)}`]),
      released: (line) => line === 'Successfully pinged pod: example-job-0.headless-svc',
      startDelays: new Map([[N - 1, 1_500]]),
      capMs: 25_000,
    });
    expectAllReleased(result);
    for (const pod of result.pods) {
      expect(pod.output.filter((l) => l.startsWith('Failed to ping'))).toEqual([]);
      for (let i = 0; i < N; i++)
        expect(pod.output).toContain(`Successfully pinged pod: example-job-${i}.headless-svc`);
    }
  });

  for (const [what, late] of [
    ['a late member', N - 1],
    ['a late coordinator', 0],
  ] as const) {
    it(`waits for ${what}, then releases everyone`, async () => {
      requireNetns();
      const result = await runNetnsJob({
        n: N,
        command: () => agent(['--verify', 'mesh']),
        released: (line) => line === RELEASED,
        startDelays: new Map([[late, 2_000]]),
        capMs: 25_000,
      });
      expectAllReleased(result);
      expect(result.pods[late]!.startedAtMs).toBeGreaterThanOrEqual(2_000);
    });
  }

  it('survives a restart on a new address while the stale record is still served', async () => {
    requireNetns();
    const events: string[] = [];
    const result = await runNetnsJob({
      n: N,
      command: () => agent([]),
      released: (line) => line === RELEASED,
      // Pod 2 comes late so nobody is released before pod 1 restarts.
      startDelays: new Map([[2, 3_000]]),
      restart: { index: 1, atMs: 1_200, staleMs: 10_000 },
      capMs: 25_000,
      onLine: (index, line) => {
        if (index < 0) events.push(line);
      },
    });
    expectAllReleased(result);
    expect(
      events.some((e) =>
        /restarted example-job-1: 10\.244\.1\.2 → 10\.244\.1\.4; old record still served/.test(e),
      ),
    ).toBe(true);
    // The stale record was never removed during the run: the name answered both addresses.
    expect(events.some((e) => e.includes('removed stale record'))).toBe(false);
    expect(result.pods[1]!.address).toBe('10.244.1.4');
  });

  it('times out with the publishNotReadyAddresses hint in init-container mode, not a silent hang', async () => {
    requireNetns();
    const result = await runNetnsJob({
      n: N,
      command: () => cliCommand(['wait', '--completions', String(N), '--timeout', '3s']),
      released: () => false,
      // An init container keeps the pod from being Ready: without publishNotReadyAddresses no record appears.
      publish: false,
      capMs: 20_000,
    });
    expect(result.capped).toBe(false);
    for (const pod of result.pods) {
      const text = pod.output.join('\n');
      expect(pod.exitCode, text).toBe(124);
      expect(text).toMatch(/publishNotReadyAddresses: true/);
    }
  });

  it('waits with --verify tcp:<port> for plain TCP servers that do not run the agent', async () => {
    requireNetns();
    const server =
      // Serves until the launcher's first connection (its proof), at most 15 s: a fixed short life raced the
      // launcher's DNS waits on a loaded machine.
      "const s=require('net').createServer(c=>{c.end();s.close()}).listen(2222,()=>console.log('LISTENING'));setTimeout(()=>s.close(),15000).unref();";
    const result = await runNetnsJob({
      n: N,
      command: (pod) =>
        pod.index === 0
          ? cliCommand(['wait', '--completions', String(N), '--verify', 'tcp:2222', '--timeout', '15s'])
          : [process.execPath, '-e', server],
      released: (line, pod) => pod.index !== 0 || /released after/.test(line),
      // The workers' servers come up late: the launcher must wait for them, not fail.
      startDelays: new Map([
        [1, 1_000],
        [2, 1_500],
      ]),
      capMs: 20_000,
    });
    const launcher = result.pods[0]!;
    expect(launcher.exitCode, launcher.output.join('\n')).toBe(0);
    expect(launcher.releasedAtMs!).toBeGreaterThanOrEqual(result.pods[2]!.startedAtMs);
    for (const worker of result.pods.slice(1)) expect(worker.output).toContain('LISTENING');
  });
});

// The same cases with a caching resolver between the pods and Knot, as in a cluster (CoreDNS' cache,
// NodeLocal DNSCache): unbound capped at CACHE_S, SOA MINIMUM = the zone TTL = CACHE_S. A name asked before its
// record existed stays NXDOMAIN in the cache for up to CACHE_S; the barrier must still release everyone with
// the right addresses. What it costs in time is the benchmark's business (bench/seed.bench.mjs), not a test's.
describe('peer-rendezvous in network-namespace pods through a caching resolver (unbound in front of Knot)', () => {
  const CACHE_S = 5;
  const hostsOf = (pod: { output: readonly string[] }) =>
    pod.output.find((l) => l.startsWith('HOSTS '))?.slice('HOSTS '.length);
  const run = (opts: Partial<Parameters<typeof runNetnsJob>[0]>) =>
    runNetnsJob({
      n: N,
      command: () =>
        agent(['--export', 'torch'], ['bash', '-c', `echo "HOSTS $PEER_HOSTS"; echo "${RELEASED}"`]),
      released: (line) => line === RELEASED,
      dnsCache: { seconds: CACHE_S },
      capMs: 40_000,
      ...opts,
    });
  const expectCached = (result: NetnsJobResult, what: string) => {
    expectAllReleased(result);
    const hosts = result.pods.map(hostsOf);
    // Every pod hands the same peer list, in index order, to its workload.
    expect(new Set(hosts).size, hosts.join('\n')).toBe(1);
    expect(hosts[0]!.split(',').length).toBe(N);
    // The pods asked the cache; it answered some of it from its cache.
    expect(result.cache!.queries).toBeGreaterThan(0);
    expect(result.cache!.cacheHits).toBeGreaterThan(0);
    const last = Math.max(...result.pods.map((p) => p.releasedAtMs!));
    console.info(
      `${what} through a ${CACHE_S} s cache: last release ${((last - result.lastPublishAtMs) / 1000).toFixed(2)} s after the last record; ${result.cache!.queries} queries to the cache (${result.cache!.cacheHits} hits, NXDOMAIN ${result.cache!.byRcode.NXDOMAIN ?? 0}), ${result.queries} to Knot`,
    );
  };

  for (const [what, late] of [
    ['a late member', N - 1],
    ['a late coordinator', 0],
  ] as const) {
    it(`waits for ${what}, then releases everyone`, async () => {
      requireNetns();
      const result = await run({ startDelays: new Map([[late, 2_000]]) });
      expectCached(result, what);
      expect(result.pods[late]!.startedAtMs).toBeGreaterThanOrEqual(2_000);
    });
  }

  // Mesh: the members probe each other over UDP across the bridge (two datagrams a pair, no connection but
  // each member's join), a late one and a restarted one too; nobody falls back to TCP.
  const MESH_N = 4;
  const runMesh = (opts: Partial<Parameters<typeof runNetnsJob>[0]>) =>
    run({
      n: MESH_N,
      command: () =>
        agentCommand(
          ['--completions', String(MESH_N), '--timeout', '20s', '--verify', 'mesh', '--export', 'torch'],
          ['bash', '-c', `echo "HOSTS $PEER_HOSTS"; echo "${RELEASED}"`],
        ),
      ...opts,
    });
  const expectMeshOverUdp = (result: NetnsJobResult) => {
    for (const pod of result.pods) {
      const text = pod.output.join('\n');
      expect(text, pod.hostname).not.toMatch(/over TCP/);
      if (pod.index === 0) continue;
      // The last incarnation's summary: its probes were datagrams. Its connections are its joins: more than
      // one when the coordinator's record was there before its listener (pods start together, held) and the
      // first join was refused; a TCP probe would have said "over TCP" above.
      const summary = pod.output.filter((l) => l.includes('released after')).at(-1);
      expect(summary, text).toMatch(/ \d+ connections, [1-9]\d* probe datagrams/);
    }
  };
  it('mesh: a late member through the cache, every pair probed over UDP', async () => {
    requireNetns();
    const result = await runMesh({ startDelays: new Map([[MESH_N - 1, 2_000]]) });
    expect(new Set(result.pods.map(hostsOf)).size).toBe(1);
    expectAllReleased(result);
    expectMeshOverUdp(result);
  });

  it('mesh: a member restarted on a new address is probed again as its new incarnation', async () => {
    requireNetns();
    const result = await runMesh({
      startDelays: new Map([[MESH_N - 1, 3_000]]),
      restart: { index: 1, atMs: 1_200, staleMs: 10_000 },
    });
    expectAllReleased(result);
    expectMeshOverUdp(result);
    expect(hostsOf(result.pods[0]!)).toContain('example-job-1');
  });

  // The coordinator restarted on a new address; its old one went to a stranger (another workload's pod) that
  // accepts on the agent's port and never answers, while the cache still serves the old record.
  for (const peerAddress of ['ip', 'fqdn'] as const) {
    it(`a restarted coordinator whose old address a stranger holds (--peer-address ${peerAddress})`, async () => {
      requireNetns();
      const events: string[] = [];
      const result = await run({
        command: () =>
          agent(
            ['--export', 'torch', '--peer-address', peerAddress, '--verbose'],
            ['bash', '-c', `echo "MASTER $MASTER_ADDR"; echo "${RELEASED}"`],
          ),
        // Records present (publishNotReadyAddresses): the cache's answers for pod 0's name and for the Service
        // are from before the restart and before the late pod, for the whole TTL.
        publishDelayMs: -1,
        // With ip exports nobody waits for the cache: a kubeadm-sized cache (30 s) then outlasts the
        // stranger's 5 s silence, so a member that dialled it without being reached by an announce would say so.
        ...(peerAddress === 'ip' ? { dnsCache: { seconds: 30 } } : {}),
        startDelays: new Map([[N - 1, 3_000]]),
        restart: { index: 0, atMs: 1_200, staleMs: 10_000, stranger: strangerCommand(29600) },
        onLine: (index, line) => {
          if (index < 0) events.push(line);
        },
      });
      expectAllReleased(result);
      const text = (i: number) => result.pods[i]!.output.join('\n');
      // The stranger was dialled (a member asked the cache for pod 0 and got the old address)…
      expect(
        events.some((e) => /stranger at 10\.244\.1\.1: .*tcp connection from/.test(e)),
        events.join('\n'),
      ).toBe(true);
      for (let i = 1; i < N; i++) {
        // … and the new coordinator's announce cut that dial short: nobody waited out its silence.
        expect(text(i), result.pods[i]!.hostname).not.toMatch(/no answer to the handshake in time/);
      }
      const masters = result.pods.map((p) => p.output.find((l) => l.startsWith('MASTER '))?.slice(7));
      if (peerAddress === 'ip') {
        // The address proven by handshake, never the stranger's.
        expect(masters).toEqual(Array(N).fill(result.pods[0]!.address));
      } else {
        expect(new Set(masters).size).toBe(1);
        expect(masters[0]).toMatch(/^example-job-0\./);
        // The coordinator waited for its name to leave the old address and said the cache held it.
        expect(text(0)).toMatch(
          /this pod's name resolves to 10\.244\.1\.1, members reach it at 10\.244\.1\.\d+; that answer is cached until/,
        );
      }
    });
  }

  it('survives a restart on a new address while the stale record is still served', async () => {
    requireNetns();
    const result = await run({
      startDelays: new Map([[2, 3_000]]),
      restart: { index: 1, atMs: 1_200, staleMs: 10_000 },
    });
    expectCached(result, 'a restart');
    expect(result.pods[1]!.address).toBe('10.244.1.4');
    // The roster the workloads got names pod 1 (its name, not the stale address).
    expect(hostsOf(result.pods[0]!)).toContain('example-job-1');
  });
});
