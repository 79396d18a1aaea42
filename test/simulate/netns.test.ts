// Network-namespace pods: kubelet-style files, own hostname, reachability on the bridge, and teardown.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kubeletHosts, kubeletResolvConf } from '../../src/simulate/kubelet-files.js';
import {
  assertNetnsAvailable,
  createNetnsCluster,
  HUB_ADDRESS,
  HUB_MAC,
  type NetnsPod,
  NetnsUnavailableError,
  podAddress,
  untilHeld,
} from '../../src/simulate/netns.js';
import { listNetns, sweepNetns } from '../../src/simulate/netns-teardown.js';
import { requireNetns } from '../e2e/root.js';

function collect(child: ReturnType<typeof spawn>): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

const linkCount = () =>
  spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout.trim().split('\n').length;

describe('kubelet-style pod files', () => {
  it('writes hosts with the FQDN and resolv.conf with the cluster search list and ndots:5', () => {
    expect(kubeletHosts('10.244.1.1', 'job-0', 'job-0.svc.ns.svc.cluster.local')).toContain(
      '10.244.1.1\tjob-0.svc.ns.svc.cluster.local\tjob-0\n',
    );
    expect(
      kubeletResolvConf(['ns.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], '10.244.0.10'),
    ).toBe(
      'search ns.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.244.0.10\noptions ndots:5\n',
    );
    expect([podAddress(0), podAddress(249), podAddress(250)]).toEqual([
      '10.244.1.1',
      '10.244.1.250',
      '10.244.2.1',
    ]);
  });
});

describe('availability', () => {
  it('refuses without root, saying so', () => {
    expect(() => assertNetnsAvailable({ uid: 1000 })).toThrow(NetnsUnavailableError);
    expect(() => assertNetnsAvailable({ uid: 1000 })).toThrow(/need root \(running as uid 1000\)/);
  });

  it('refuses without iproute2, naming the binary', () => {
    requireNetns();
    expect(() => assertNetnsAvailable({ uid: 0, ip: '/nonexistent/ip' })).toThrow(
      /need iproute2: "\/nonexistent\/ip"/,
    );
  });
});

describe('network-namespace pods', () => {
  it('gives each pod its hostname, files and address, reachable over the bridge, and removes it all', async () => {
    requireNetns();
    const links = linkCount();
    const cluster = await createNetnsCluster({ prefix: 'prdvtest' });
    try {
      const search = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
      const pods = await cluster.addPods([
        { hostname: 'job-0', fqdn: 'job-0.svc.default.svc.cluster.local', search },
        { hostname: 'job-1', fqdn: 'job-1.svc.default.svc.cluster.local', search },
      ]);
      expect(linkCount()).toBe(links);
      const [a, b] = pods as [(typeof pods)[0], (typeof pods)[0]];
      const r = await collect(
        cluster.spawnInPod(a, [
          'sh',
          '-c',
          `hostname; cat /etc/hosts /etc/resolv.conf; ping -c 1 -W 2 ${b.address} >/dev/null && echo reached`,
        ]),
      );
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/^job-0\n/);
      expect(r.out).toContain(`${a.address}\tjob-0.svc.default.svc.cluster.local\tjob-0`);
      expect(r.out).toContain('nameserver 10.244.0.10');
      expect(r.out).toContain('reached');
      // The root namespace keeps its own hostname.
      expect(spawnSync('hostname', { encoding: 'utf8' }).stdout.trim()).not.toBe('job-0');
      const sleeper = cluster.spawnInPod(b, ['sleep', '30']);
      const exited = new Promise((resolve) => sleeper.once('exit', resolve));
      cluster.dispose();
      await exited;
    } finally {
      cluster.dispose();
    }
    expect(listNetns().filter((name) => name.startsWith(cluster.id))).toEqual([]);
    expect(existsSync(`/etc/netns/${cluster.id}-p0`)).toBe(false);
    expect(existsSync(cluster.dir)).toBe(false);
    expect(linkCount()).toBe(links);
  });

  it('holds a pod set up (its hostname set) until its start line; EOF without one: exit 71, nothing run', async () => {
    requireNetns();
    const cluster = await createNetnsCluster({ prefix: 'prdvtest' });
    try {
      const [a, b] = (await cluster.addPods([0, 1].map((i) => ({ hostname: `job-${i}`, search: [] })))) as [
        NetnsPod,
        NetnsPod,
      ];
      const held = cluster.spawnInPod(a, ['sh', '-c', 'echo "ran as $(hostname)"; cat; echo "stdin done"'], {
        held: true,
      });
      const result = collect(held);
      await untilHeld(held);
      // Held: nothing of the command ran yet.
      await new Promise((r) => setTimeout(r, 100));
      expect(held.exitCode).toBeNull();
      held.stdin!.end('\n');
      const r = await result;
      // The command ran once started, and its stdin is /dev/null (not the start line's pipe).
      expect(r).toEqual({ code: 0, out: 'ran as job-0\nstdin done\n' });

      const never = cluster.spawnInPod(b, ['sh', '-c', 'echo ran'], { held: true });
      const n = collect(never);
      await untilHeld(never);
      never.stdin!.end();
      expect(await n).toEqual({ code: 71, out: '' });
    } finally {
      cluster.dispose();
    }
  });

  it("routes pods through the hub: a pod's only neighbour is the gateway, however many peers it reaches", async () => {
    requireNetns();
    const cluster = await createNetnsCluster({ prefix: 'prdvtest' });
    try {
      const pods = await cluster.addPods([0, 1, 2, 3].map((i) => ({ hostname: `job-${i}`, search: [] })));
      const [a, ...peers] = pods as [NetnsPod, ...NetnsPod[]];
      const targets = [...peers.map((p) => p.address), cluster.dnsAddress];
      const r = await collect(
        cluster.spawnInPod(a, [
          'sh',
          '-c',
          `for t in ${targets.join(' ')}; do ping -c 1 -W 2 $t >/dev/null || echo "no answer from $t"; done; ip -4 neigh show dev eth0`,
        ]),
      );
      expect(r.code, r.out).toBe(0);
      expect(r.out).not.toContain('no answer');
      // The kernel's neighbour table is shared by every namespace (gc_thresh3): N pods must not need N² entries.
      const neighbours = r.out
        .trim()
        .split('\n')
        .map((line) => line.split(' ')[0]);
      expect(neighbours).toEqual([HUB_ADDRESS]);
    } finally {
      cluster.dispose();
    }
  });

  it('keeps the hub reachable at the same MAC while pods are removed and added', async () => {
    requireNetns();
    const cluster = await createNetnsCluster({ prefix: 'prdvtest' });
    try {
      const search = ['cluster.local'];
      const specs = [0, 1, 2].map((i) => ({ hostname: `job-${i}`, search }));
      const [a, first] = (await cluster.addPods(specs)) as [NetnsPod, NetnsPod];
      let b = first;
      const bridgeMac = () =>
        spawnSync('ip', ['-n', cluster.hub, '-br', 'link', 'show', 'br0'], { encoding: 'utf8' }).stdout;
      const pingHub = () =>
        collect(cluster.spawnInPod(a, ['ping', '-c', '1', '-W', '2', cluster.dnsAddress]));
      // Pod a learns the hub's MAC, then its neighbours' veths come and go (a restart).
      expect((await pingHub()).code).toBe(0);
      for (let round = 0; round < 3; round++) {
        cluster.removePod(b);
        [b] = (await cluster.addPods([specs[1]!])) as [NetnsPod];
        expect(bridgeMac()).toContain(HUB_MAC);
        const r = await pingHub();
        expect(r.code, r.out).toBe(0);
      }
    } finally {
      cluster.dispose();
    }
  });

  it('sweeps what a killed run left behind (uses dist/: npm run build first)', async () => {
    requireNetns();
    const script = `
      import { createNetnsCluster } from ${JSON.stringify(new URL('../../dist/simulate/netns.js', import.meta.url).href)};
      const c = await createNetnsCluster({ prefix: 'prdvsweep' });
      await c.addPods([{ hostname: 'x-0', search: ['cluster.local'] }]);
      console.log(c.id);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const id = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').once('data', (d: string) => resolve(d.trim()));
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    expect(listNetns().filter((n) => n.startsWith(id))).toHaveLength(2);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(sweepNetns({ prefix: 'prdvsweep' })).toEqual([id]);
    expect(listNetns().filter((n) => n.startsWith(id))).toEqual([]);
    expect(existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith(id)) : []).toEqual(
      [],
    );
  });
});
