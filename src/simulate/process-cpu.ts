// CPU seconds of what a run started, for the benchmark's CPU columns: a shell's `times` file written when a pod's
// command ends (NetnsSpawnOptions.cpuFile), or /proc/<pid>/stat of the processes still alive. Linux.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system) a `times` file (the cpuFile of a netns spawn) reports for the children. */
export function readTimesFile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.trim().split('\n');
  const children = lines[1];
  if (children === undefined) return undefined;
  let total = 0;
  for (const m of children.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return total;
}

/** CPU seconds (user + system, own and reaped children) of every live process in process group `pgid`. */
export function processGroupCpu(pgid: number): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] is state (field 3); pgrp is field 5, utime..cstime fields 14-17.
      if (Number(fields[2]) !== pgid) continue;
      total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / USER_HZ;
    } catch {}
  }
  return total;
}

/** CPU seconds (user + system) of one live process. */
export function processCpu(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}
