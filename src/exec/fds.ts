// Only fds 0–2 may reach the workload. Node opens its own descriptors close-on-exec; descriptors the agent
// inherited from its parent without FD_CLOEXEC would survive execve and are closed here (Linux: /proc).
//
// Reading /proc/self/fdinfo costs a few system calls per descriptor (~2 ms for Node's ~25), on the path from
// release to the workload, where every pod of a Job is at once. A snapshot taken while the agent waits
// (snapshotFds) settles the descriptors that had close-on-exec then: the flag does not change (the agent
// never changes it) and a number reused since belongs to something Node opened (close-on-exec too). At exec,
// only descriptors opened since and the inherited ones (usually none) are read.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

/** The descriptors above 2 at one moment, and those of them that lacked close-on-exec. */
export interface FdSnapshot {
  readonly seen: ReadonlySet<number>;
  readonly inheritable: ReadonlySet<number>;
}

/** Descriptors above 2 without close-on-exec, from /proc/self/fdinfo; [] where /proc is not there. */
export function inheritableFds(procDir = '/proc/self', snapshot?: FdSnapshot): number[] {
  let names: string[];
  try {
    names = readdirSync(`${procDir}/fd`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    // Only a close-on-exec verdict is kept: an inherited descriptor closed since and its number reused by
    // Node (close-on-exec) must not be closed under Node's feet. Inherited ones are few: read them again.
    if (snapshot?.seen.has(fd) && !snapshot.inheritable.has(fd)) continue;
    const flags = fdFlags(procDir, fd);
    if (flags !== undefined && (flags & O_CLOEXEC) === 0) out.push(fd);
  }
  return out;
}

/** Note every descriptor above 2 and which lack close-on-exec; undefined where /proc is not there. */
export function snapshotFds(procDir = '/proc/self'): FdSnapshot | undefined {
  let names: string[];
  try {
    names = readdirSync(`${procDir}/fd`);
  } catch {
    return undefined;
  }
  const seen = new Set<number>();
  const inheritable = new Set<number>();
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    const flags = fdFlags(procDir, fd);
    if (flags === undefined) continue; // the descriptor readdir itself used, closed by now
    seen.add(fd);
    if ((flags & O_CLOEXEC) === 0) inheritable.add(fd);
  }
  return { seen, inheritable };
}

/** Close every descriptor above 2 that would survive exec; returns the ones closed. */
export function closeInheritedFds(procDir = '/proc/self', snapshot?: FdSnapshot): number[] {
  const fds = inheritableFds(procDir, snapshot);
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing leaks.
    }
  }
  return fds;
}

const info = Buffer.allocUnsafe(512);

/** The octal `flags:` of /proc/<pid>/fdinfo/<fd>, or undefined when it cannot be read. */
function fdFlags(procDir: string, fd: number): number | undefined {
  let file: number;
  try {
    file = openSync(`${procDir}/fdinfo/${fd}`, 'r');
  } catch {
    return undefined;
  }
  try {
    // `pos:` and `flags:` are the first two lines; one read of 512 bytes holds them.
    const n = readSync(file, info, 0, info.length, 0);
    const m = /^flags:\s*([0-7]+)/m.exec(info.toString('latin1', 0, n));
    return m ? Number.parseInt(m[1]!, 8) : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(file);
  }
}
