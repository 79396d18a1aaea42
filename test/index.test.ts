// The package as a user imports it: `import { waitForPeers } from 'peer-rendezvous'` resolves to dist/.
import { describe, expect, it } from 'vitest';
import { freePort } from './helpers/job.js';

describe('package entry point', () => {
  it('exports the library API from the built package by name', async () => {
    const pkg = await import('peer-rendezvous');
    for (const name of [
      'waitForPeers',
      'discoverIdentity',
      'DnsClient',
      'ClusterDnsServer',
      'buildExports',
      'RendezvousError',
      'RendezvousTimeoutError',
      'ConfigError',
    ]) {
      expect(typeof (pkg as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(pkg.DEFAULT_PORT).toBe(29600);
  });

  it('waitForPeers releases a single pod with an explicit list (no DNS needed)', async () => {
    const { waitForPeers } = await import('peer-rendezvous');
    const mesh = await waitForPeers({
      peers: '127.0.0.1',
      index: 0,
      listen: '127.0.0.1',
      port: await freePort(),
      timeoutMs: 5000,
    });
    expect(mesh.peers).toEqual([{ index: 0, fqdn: '127.0.0.1', addresses: ['127.0.0.1'] }]);
    expect(mesh.self.index).toBe(0);
  });
});
