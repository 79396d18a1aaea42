// A DNS daemon run as a child of this process (knotd, unbound): its stderr kept (the last 4 KiB), a spawn error
// recorded, killed if this process exits first, stopped once (TERM, then KILL after 3 s), its temp dir removed.
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { RendezvousError } from '../errors.js';

const STDERR_KEPT = 4_000;
const KILL_AFTER_MS = 3_000;
const POLL_MS = 25;

/** What the launchers need of a supervised daemon. */
export interface Daemon {
  /** The daemon's stderr so far (its last 4 KiB), trimmed. */
  stderr(): string;
  /** Wait until `ready()` says yes; throws (and stops the daemon) when it fails to start or the time is up. */
  waitReady(ready: () => Promise<boolean>, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** How the daemon is named in errors. */
export interface DaemonOptions {
  /** e.g. `knotd`. */
  readonly name: string;
  /** e.g. `127.0.0.53:5353`, named when it does not come up. */
  readonly where: string;
  /** Added to the message when it cannot be spawned, e.g. `(apt-get install unbound)`. */
  readonly installHint?: string;
  /** A temp dir of the launcher's own, removed on stop. */
  readonly ownDir?: string;
}

/** Supervise `child` (already spawned). */
export function superviseDaemon(child: ChildProcess, options: DaemonOptions): Daemon {
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-STDERR_KEPT);
  });
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // A test or run that never calls stop() must not leave the daemon running after this process exits.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      await closed;
      clearTimeout(timer);
      await sleep(0); // the process handle closes a loop turn later
    }
    if (options.ownDir !== undefined) rmSync(options.ownDir, { recursive: true, force: true });
  };
  const fail = (message: string): RendezvousError => new RendezvousError('RDV_ERR_UNSUPPORTED', message);
  const waitReady = async (ready: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
    const { name } = options;
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (spawnError !== undefined) {
          const hint = options.installHint === undefined ? '' : ` ${options.installHint}`;
          throw fail(`${name} could not start${hint}: ${spawnError.message}`);
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          throw fail(`${name} exited ${child.exitCode ?? child.signalCode}: ${stderr.trim()}`);
        }
        if (await ready()) return;
        if (Date.now() >= deadline) {
          throw fail(`${name} on ${options.where} did not come up within ${timeoutMs} ms: ${stderr.trim()}`);
        }
        await sleep(POLL_MS);
      }
    } catch (error) {
      await stop();
      throw error;
    }
  };
  return { stderr: () => stderr.trim(), waitReady, stop };
}

/** Run a control command (knotc, unbound-control) without blocking the event loop; its exit code and stdout. */
export function runControl(
  file: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { encoding: 'utf8', timeout: 5_000, env }, (error, stdout) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout });
    });
  });
}
