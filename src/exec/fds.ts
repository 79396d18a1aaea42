// Only fds 0–2 may reach the workload. Node opens its own descriptors close-on-exec; descriptors the agent
// inherited from its parent without FD_CLOEXEC would survive execve and are closed here (Linux: /proc).
import { closeSync, readdirSync, readFileSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

/** Descriptors above 2 without close-on-exec, from /proc/self/fdinfo; [] where /proc is not there. */
export function inheritableFds(procDir = '/proc/self'): number[] {
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
    let info: string;
    try {
      info = readFileSync(`${procDir}/fdinfo/${fd}`, 'latin1');
    } catch {
      continue; // the descriptor readdir itself used, closed by now
    }
    const flags = /^flags:\s*([0-7]+)/m.exec(info);
    if (flags && (Number.parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) out.push(fd);
  }
  return out;
}

/** Close every descriptor above 2 that would survive exec; returns the ones closed. */
export function closeInheritedFds(procDir = '/proc/self'): number[] {
  const fds = inheritableFds(procDir);
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing leaks.
    }
  }
  return fds;
}
