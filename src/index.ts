// Public API of the peer-rendezvous package.

export { DEFAULT_PORT, DEFAULT_TIMEOUT_MS } from './defaults.js';
export { DnsClient, type DnsClientOptions } from './dns/client.js';
export { parseResolvConf, type ResolvConf } from './dns/resolv-conf.js';
export { ClusterDnsServer, type ClusterDnsServerOptions } from './dns/server.js';
export type { DnsRecord, DnsResult, DnsServerAddress, QueryType, Resolver } from './dns/types.js';
export {
  AbortedError,
  CommandError,
  ConfigError,
  type ErrorCode,
  RendezvousError,
  UsageError,
} from './errors.js';
export { type ExportOptions, normalizeExportOptions, PRESETS, type Preset } from './exec/export-options.js';
export { buildExports, type ExportContext, type Exports } from './exec/exports.js';
export { discoverIdentity, type Identity, type IdentityOptions, type Sourced } from './identity/identity.js';
export { parseDownwardApiMap, parseMpiHostfile } from './identity/podinfo.js';
export { type Detail, PROVIDERS, type ProviderName } from './identity/providers.js';
export type { IdentitySources, SourceOverrides } from './identity/sources.js';
export { DEFAULT_RELEASED_AFTER_MS, ReleasedWithoutThisPodError } from './rendezvous/after-release.js';
export type { AgentStats, PeerAddressMode, ProgressEvent } from './rendezvous/agent.js';
export { type Clock, systemClock, type TimerHandle } from './rendezvous/clock.js';
export { RendezvousTimeoutError } from './rendezvous/errors.js';
export type { PeerReport, PeerStateKind } from './rendezvous/peer-state.js';
export type { Mesh, PeerInfo } from './rendezvous/types.js';
export { parseVerifyMode, type VerifyMode } from './rendezvous/verify.js';
export {
  type WaitDependencies,
  type WaitForPeersOptions,
  type WaitResult,
  waitForPeers,
} from './rendezvous/wait.js';
