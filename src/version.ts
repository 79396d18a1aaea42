// The package version, read once from package.json next to dist/ or src/.
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

// The single-executable build (scripts/build-exe.mjs) defines this at bundle time; under tsc it is undeclared.
declare const PEER_RENDEZVOUS_BUNDLED_VERSION: string | undefined;

export const VERSION: string =
  typeof PEER_RENDEZVOUS_BUNDLED_VERSION === 'string' ? PEER_RENDEZVOUS_BUNDLED_VERSION : readVersion();
