// A caching resolver in the test world: real Knot (authoritative) with real unbound in front, both on random
// 127.x.y.z addresses, configured like CoreDNS' cache: answers kept min(TTL, cap), denials min(SOA TTL, SOA
// MINIMUM, cap). `const world = await startCachedKnot({ cacheSeconds: 3 }); … world.cache.server … await
// world.stop();`. The launcher is src/simulate/unbound.ts (simulate --netns and the benchmark use it too).
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { startUnbound, type UnboundServer } from '../../src/simulate/unbound.js';
import { type KnotOptions, type KnotServer, requireKnot, startKnot } from './knot.js';

export type { UnboundServer, UnboundStats } from '../../src/simulate/unbound.js';

/** Knot behind unbound. */
export interface CachedKnot {
  /** The authoritative server (add/remove records here). */
  readonly knot: KnotServer;
  /** The cache the clients ask (`cache.server` is `address:port`). */
  readonly cache: UnboundServer;
  stop(): Promise<void>;
}

const START_TRIES = 5;

/** Throw a clear error (not a skip) when unbound is not installed. */
export function requireUnbound(): void {
  for (const bin of ['/usr/sbin/unbound', '/usr/sbin/unbound-control']) {
    try {
      execFileSync(bin, ['-h'], { stdio: 'ignore' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(`${bin} is not installed: apt-get install unbound (see .ci/run)`);
    }
  }
}

/**
 * Start Knot for the zone, with `ttl` as record TTL, SOA TTL and SOA MINIMUM (default: the cap, as on a
 * kubeadm cluster with `ttl 30` / `cache 30`), then unbound in front capped at `cacheSeconds`.
 */
export async function startCachedKnot(
  options: KnotOptions & {
    readonly cacheSeconds: number;
    readonly negativeCacheSeconds?: number;
    readonly logReplies?: boolean;
  },
): Promise<CachedKnot> {
  requireKnot();
  requireUnbound();
  const { cacheSeconds, negativeCacheSeconds, logReplies, ...knotOptions } = options;
  const knot = await startKnot({ ttl: cacheSeconds, ...knotOptions });
  let lastError: unknown;
  for (let attempt = 0; attempt < START_TRIES; attempt++) {
    try {
      const cache = await startUnbound({
        address: `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`,
        port: randomInt(20_000, 60_000),
        upstream: { address: knot.address, port: knot.port },
        zone: knot.zone,
        cacheSeconds,
        ...(negativeCacheSeconds === undefined ? {} : { negativeCacheSeconds }),
        ...(logReplies === undefined ? {} : { logReplies }),
      });
      return {
        knot,
        cache,
        stop: async () => {
          await cache.stop();
          await knot.stop();
        },
      };
    } catch (error) {
      lastError = error;
    }
  }
  await knot.stop();
  throw new Error(`unbound did not start after ${START_TRIES} tries`, { cause: lastError });
}
