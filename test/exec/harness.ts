// Run test/exec/fixtures/harness.mjs (a stand-in agent on dist/) as a real process and watch it.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const HARNESS = fileURLToPath(new URL('./fixtures/harness.mjs', import.meta.url));

export interface HarnessSpec {
  mode?: 'auto' | 'exec' | 'supervise';
  index?: number;
  count?: number;
  export?: string;
  hostfile?: string;
  dir?: string;
  command: string[];
  printOwnStatus?: boolean;
  dropExecve?: boolean;
  /** prepareHandOver() before the hand-over, as `run` does while it waits. */
  prepare?: boolean;
}

export interface HarnessRun {
  readonly child: ChildProcess;
  /** Resolves with the first stdout line matching `re` (bounded by `timeoutMs`). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  readonly done: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>;
  stdout(): string;
}

/** Start the harness; `extraFds` inherited pipes beyond 0–2 stand for descriptors a parent leaks. */
export function startHarness(
  spec: HarnessSpec,
  options: { extraFds?: number; env?: Record<string, string>; wrap?: string[] } = {},
): HarnessRun {
  const stdio: ('pipe' | 'ignore')[] = ['ignore', 'pipe', 'pipe'];
  for (let i = 0; i < (options.extraFds ?? 0); i++) stdio.push('pipe');
  const argv = [...(options.wrap ?? []), process.execPath, HARNESS, JSON.stringify(spec)];
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio,
    detached: true,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
  });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of [...waiters]) {
      const m = w.re.exec(out);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })));
  return {
    child,
    done,
    stdout: () => out,
    waitFor(re, timeoutMs = 10_000) {
      const m = re.exec(out);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${re} on stdout within ${timeoutMs} ms; got:\n${out}\nstderr:\n${err}`)),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: (mm) => {
            clearTimeout(timer);
            resolve(mm);
          },
        });
      });
    },
  };
}

/** Run the harness to its end. */
export function runHarness(spec: HarnessSpec, options: Parameters<typeof startHarness>[1] = {}) {
  const run = startHarness(spec, options);
  const kill = setTimeout(() => run.child.kill('SIGKILL'), 20_000);
  return run.done.finally(() => clearTimeout(kill));
}

/** Signal numbers set in a /proc status mask line (`SigIgn:\t0000000001001000`). */
export function maskSignals(status: string, field: 'SigIgn' | 'SigBlk'): number[] {
  const m = new RegExp(`^${field}:\\s*([0-9a-f]+)`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} in ${status}`);
  const mask = BigInt(`0x${m[1]}`);
  const out: number[] = [];
  for (let n = 1; n <= 64; n++) if ((mask >> BigInt(n - 1)) & 1n) out.push(n);
  return out;
}
