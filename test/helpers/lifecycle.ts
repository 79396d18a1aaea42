// Pods as real CLI processes on 127.<block>.<gen>.<i+1> against Knot, for the after-release tests: start one
// (any command), watch its stderr, publish and move its record, replace it by a new incarnation.
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from './cli.js';
import type { KnotServer } from './knot.js';

export interface Pod {
  readonly index: number;
  readonly gen: number;
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when stderr matches `pattern` (rejects after `ms`). */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
}

export class PodSet {
  readonly children: ChildProcess[] = [];
  constructor(
    readonly knot: KnotServer,
    readonly block: number,
    readonly n: number,
  ) {}

  ip(i: number, gen = 0): string {
    return `127.${this.block}.${gen}.${i + 1}`;
  }

  name(i: number): string {
    return `example-job-${i}.headless-svc.default.svc`;
  }

  /** Publish pod i at generation gen (its own A record and one for the Service), dropping older ones. */
  async publish(i: number, gen = 0): Promise<void> {
    await this.knot.update([
      { op: 'delete', name: this.name(i), type: 'A' },
      { op: 'add', name: this.name(i), type: 'A', value: this.ip(i, gen) },
      { op: 'add', name: 'headless-svc.default.svc', type: 'A', value: this.ip(i, gen) },
    ]);
    if (gen > 0)
      await this.knot.update([
        { op: 'delete', name: 'headless-svc.default.svc', type: 'A', value: this.ip(i, gen - 1) },
      ]);
  }

  async clear(): Promise<void> {
    const ops = [...Array(this.n).keys()].map((i) => ({
      op: 'delete' as const,
      name: this.name(i),
      type: 'A',
    }));
    await this.knot.update([...ops, { op: 'delete', name: 'headless-svc.default.svc', type: 'A' }]);
  }

  /** `peer-rendezvous <argv…>` as pod i (identity flags, its own address, Knot as DNS). */
  start(
    i: number,
    gen: number,
    port: number,
    argv: readonly string[],
    trailing: readonly string[] = [],
  ): Pod {
    const child = spawn(
      process.execPath,
      [
        BIN,
        ...argv,
        ...['--completions', String(this.n), '--hostname', `example-job-${i}`, '--subdomain', 'headless-svc'],
        ...['--namespace', 'default', '--hosts-file', '/dev/null', '--resolv-conf', '/dev/null'],
        ...['--listen', this.ip(i, gen), '--port', String(port), '--dns-server', this.knot.server],
        ...['--progress-interval', '0', '--termination-log', ''],
        ...trailing,
      ],
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', JOB_COMPLETION_INDEX: String(i) },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.children.push(child);
    let stderr = '';
    const watchers: { pattern: RegExp; resolve: () => void }[] = [];
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const w of watchers.splice(0)) {
        if (w.pattern.test(stderr)) w.resolve();
        else watchers.push(w);
      }
    });
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
      (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
    );
    return {
      index: i,
      gen,
      child,
      done,
      stderr: () => stderr,
      waitFor: (pattern, ms = 15_000) =>
        new Promise<void>((resolve, reject) => {
          if (pattern.test(stderr)) return resolve();
          const timer = setTimeout(
            () => reject(new Error(`pod ${i}/${gen}: no ${pattern} within ${ms} ms; stderr:\n${stderr}`)),
            ms,
          );
          watchers.push({
            pattern,
            resolve: () => {
              clearTimeout(timer);
              resolve();
            },
          });
          void done.then(() => {
            if (!pattern.test(stderr)) {
              clearTimeout(timer);
              reject(new Error(`pod ${i}/${gen} exited before ${pattern}; stderr:\n${stderr}`));
            }
          });
        }),
    };
  }

  /** SIGKILL every child still running. */
  killAll(): void {
    for (const c of this.children.splice(0))
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}
