// Run the CLI in-process (fast, injected env) or as a real process of bin/peer-rendezvous.js.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';

export const BIN = fileURLToPath(new URL('../../bin/peer-rendezvous.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `main()` with an injected env and a fixed hostname; env is exactly what is passed. */
export async function runCli(
  argv: string[],
  env: Record<string, string> = {},
  sources: CliIo['sources'] = { hostname: () => 'test-host' },
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    env,
    isTTY: false,
    sources,
  });
  return { code, stdout, stderr };
}

/** Run the built CLI as a separate process with exactly `env` (plus PATH). */
export function runBin(argv: string[], env: Record<string, string> = {}, timeoutMs = 20_000): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...argv], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

export interface Ended {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Start the real CLI; resolves when it ends (killed after 30 s). `wrapper`: a command line it runs under
 * (e.g. `unshare --pid --fork --mount-proc`).
 */
export function startBin(argv: string[], env: Record<string, string> = {}, wrapper: readonly string[] = []) {
  const [file, ...args] = [...wrapper, process.execPath, BIN, ...argv] as [string, ...string[]];
  const child = spawn(file, args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<Ended>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      resolve({ pid: child.pid!, code, signal, stdout, stderr });
    }),
  );
  return { child, done, stderr: () => stderr };
}
