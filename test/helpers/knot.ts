// Start a real Knot DNS server (knotd from Debian) on 127.x.y.z and a random high port, authoritative for one
// zone, with records added and removed at run time through knsupdate (RFC 2136). Used by DNS, rendezvous
// and CLI tests: `const knot = await startKnot(); … await knot.stop();`. The server is src/simulate/knot.ts
// (the e2e tests and the benchmark use it too); this only picks the address and says what to install.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import {
  type KnotServer,
  type KnotOptions as ServerOptions,
  startKnot as startServer,
} from '../../src/simulate/knot.js';
import { sbinEnv } from './server-process.js';

export type { KnotChange, KnotRecord, KnotServer } from '../../src/simulate/knot.js';

/** What {@link startKnot} takes: everything but where the server lives, which it picks. */
export type KnotOptions = Omit<ServerOptions, 'address' | 'port' | 'dir' | 'placement'>;

const START_TRIES = 5;

/** Throw a clear error (not a skip) when knotd, knotc or knsupdate is not installed. */
export function requireKnot(): void {
  for (const [bin, pkg] of [
    ['knotd', 'knot'],
    ['knotc', 'knot'],
    ['knsupdate', 'knot-dnsutils'],
  ] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore', env: sbinEnv() });
    } catch {
      throw new Error(`${bin} is not installed: apt-get install ${pkg} (see .ci/run)`);
    }
  }
}

/** Start knotd for `zone` in a temporary directory; retries on another address/port when the bind fails. */
export async function startKnot(options: KnotOptions = {}): Promise<KnotServer> {
  requireKnot();
  let lastError: unknown;
  for (let attempt = 0; attempt < START_TRIES; attempt++) {
    const address = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    const port = randomInt(20_000, 60_000);
    try {
      return await startServer({ ...options, address, port });
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`knotd did not start after ${START_TRIES} tries`, { cause: lastError });
}
