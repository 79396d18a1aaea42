// A DNS server process a test started (knotd, dnsmasq): its stderr kept, killed if the worker exits without
// stop(), stopped once with SIGTERM then SIGKILL, its working directory removed.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

export interface ServerProcess {
  /** Resolves with the exit code once the process has exited and its pipes are closed. */
  readonly closed: Promise<number | null>;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Stop the process and remove `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

/** Watch a spawned server (stdio[2] must be a pipe). */
export function superviseServer(child: ChildProcess, dir: string): ServerProcess {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  // A test that never calls stop() must not leave the server running after the worker exits.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stopped = false;
  return {
    closed,
    stderr: () => stderr,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await closed;
        clearTimeout(timer);
      }
      await new Promise((r) => setTimeout(r, 0)); // the process handle closes a loop turn later
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PATH with the sbin directories, where Debian puts knotd and dnsmasq. */
export function sbinEnv(): NodeJS.ProcessEnv {
  return { PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` };
}
