// End-to-end tests run network-namespace pods: they need Linux and root (CI runs as root). Fail loudly otherwise.
import { assertNetnsAvailable } from '../../src/simulate/netns.js';

/** Throw a clear error when this machine cannot run network-namespace pods. */
export function requireNetns(): void {
  try {
    assertNetnsAvailable();
  } catch (error) {
    throw new Error(
      `end-to-end tests need network namespaces (Linux, root, iproute2, util-linux); CI runs them as root: ${(error as Error).message}`,
    );
  }
}
