// The e2e tests' pods in network namespaces (runNetnsJob): the built CLI as the container command, and the
// check that every pod of a job came through.
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { NetnsJobResult } from '../../src/simulate/netns-job.js';

const BIN = fileURLToPath(new URL('../../bin/peer-rendezvous.js', import.meta.url));

/** `peer-rendezvous <argv>` as a pod's container command (the built CLI: npm run build first). */
export function cliCommand(argv: readonly string[]): string[] {
  return [process.execPath, BIN, ...argv];
}

/** The agent as the container entrypoint: `run <flags> -- <workload>`. */
export function agentCommand(flags: readonly string[], workload: readonly string[]): string[] {
  return cliCommand(['run', ...flags, '--', ...workload]);
}

/** The job ended before its cap and every pod exited 0; a failure shows that pod's output. */
export function expectAllExitedZero(result: NetnsJobResult): void {
  expect(result.capped).toBe(false);
  for (const pod of result.pods) expect(pod.exitCode, `${pod.hostname}:\n${pod.output.join('\n')}`).toBe(0);
}
