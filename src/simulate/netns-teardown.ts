// What a network-namespace run leaves behind, and its removal: every namespace, /etc/netns directory and temp
// directory of a run is named `<prefix>-<pid>-<hex>-…`, so a run tears down its own by name and the next run sweeps
// those of runs whose owner died (SIGKILL, a crash) before it could. Linux, root.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Namespaces, /etc/netns directories and temp directories of a run are named `<prefix>-<pid>-<hex>-…`. */
export const DEFAULT_NETNS_PREFIX = 'prdv';
/** Where `ip netns` keeps the namespaces. */
export const NETNS_RUN_DIR = '/run/netns';
/** Where `ip netns exec` finds a namespace's own hosts and resolv.conf. */
export const NETNS_ETC_DIR = '/etc/netns';

/**
 * Call `dispose` on SIGINT, SIGTERM, SIGHUP and process exit; a signal is re-raised afterwards so the process
 * still ends the way it would have. Returns the function that removes the handlers.
 */
export function disposeOnProcessExit(dispose: () => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = (signal: NodeJS.Signals) => {
    off();
    dispose();
    process.kill(process.pid, signal);
  };
  const onExit = () => dispose();
  const off = () => {
    for (const s of signals) process.off(s, onSignal);
    process.off('exit', onExit);
  };
  for (const s of signals) process.on(s, onSignal);
  process.on('exit', onExit);
  return off;
}

/** Remove what dead runs with this prefix left behind (their owner pid is gone). Returns the run ids removed. */
export function sweepNetns(options: { prefix?: string; ip?: string | undefined } = {}): string[] {
  const prefix = options.prefix ?? DEFAULT_NETNS_PREFIX;
  const pattern = new RegExp(`^(${prefix}-(\\d+)-[0-9a-f]+)-`);
  const runs = new Map<string, number>();
  for (const dir of [NETNS_RUN_DIR, NETNS_ETC_DIR, tmpdir()]) {
    for (const name of listDir(dir)) {
      const m = pattern.exec(name);
      if (m) runs.set(m[1]!, Number(m[2]));
    }
  }
  const removed: string[] = [];
  for (const [id, pid] of runs) {
    if (pidAlive(pid)) continue;
    teardownRun(id, options.ip ?? 'ip');
    for (const name of listDir(tmpdir())) {
      if (name.startsWith(`${id}-`)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
    removed.push(id);
  }
  return removed;
}

/** Names of the network namespaces that exist now (from /run/netns). */
export function listNetns(): string[] {
  return listDir(NETNS_RUN_DIR);
}

/** Kill every process inside the run's namespaces, delete the namespaces (their veths go with them) and
   the /etc/netns directories. */
export function teardownRun(id: string, ip: string): void {
  const mine = (name: string) => name.startsWith(`${id}-`);
  const names = listDir(NETNS_RUN_DIR).filter(mine);
  for (const name of names) killNetnsProcesses(name);
  if (names.length > 0) {
    spawnSync(ip, ['-force', '-batch', '-'], {
      input: `${names.map((n) => `netns delete ${n}`).join('\n')}\n`,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  }
  for (const name of listDir(NETNS_ETC_DIR).filter(mine)) {
    rmSync(join(NETNS_ETC_DIR, name), { recursive: true, force: true });
  }
  try {
    if (listDir(NETNS_ETC_DIR).length === 0) rmSync(NETNS_ETC_DIR, { recursive: true, force: true });
  } catch {}
}

/** SIGKILL every process whose network namespace is /run/netns/<name> (compared by inode, no `ip` needed). */
export function killNetnsProcesses(name: string): void {
  let inode: number;
  try {
    inode = statSync(join(NETNS_RUN_DIR, name)).ino;
  } catch {
    return;
  }
  for (let round = 0; round < 5; round++) {
    let found = 0;
    for (const entry of listDir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (statSync(`/proc/${entry}/ns/net`).ino !== inode) continue;
        process.kill(Number(entry), 'SIGKILL');
        found++;
      } catch {}
    }
    if (found === 0) return;
    spawnSync('sleep', ['0.05']);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
