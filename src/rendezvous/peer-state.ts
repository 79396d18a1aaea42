// What this agent knows about each peer it waits for, and the report and hints built from it.

/** A peer's last known state, as shown in progress lines and timeout reports. */
export type PeerStateKind =
  | 'unknown'
  | 'nxdomain'
  | 'nodata'
  | 'cname-loop'
  | 'servfail'
  | 'refused-dns'
  | 'dns-timeout'
  | 'dns-error'
  | 'address-mismatch'
  | 'connection-refused'
  | 'unreachable'
  | 'wrong-identity'
  | 'token-mismatch'
  | 'version-mismatch'
  | 'protocol-error'
  | 'internal-error'
  /** The peer shed our pending handshake or dropped the connection during it: we retry. */
  | 'busy'
  | 'connected'
  | 'checking-peers'
  | 'ready'
  | 'disconnected';

/** One row of the report. */
export interface PeerReport {
  readonly index: number;
  readonly fqdn: string;
  readonly state: PeerStateKind;
  /** Human detail: `10.0.0.5:29600 refused`, `resolves to 10.0.0.9, connected from 10.0.0.7`. */
  readonly detail: string;
  /** Epoch ms when the peer entered this state. */
  readonly since: number;
  /** Whose view this is: this agent's own, or the coordinator's (relayed to members). */
  readonly seenBy: 'self' | 'coordinator';
}

const PHRASE: Record<PeerStateKind, string> = {
  unknown: 'not seen yet',
  nxdomain: 'NXDOMAIN',
  nodata: 'no address record (NODATA)',
  'cname-loop': 'CNAME loop',
  servfail: 'DNS SERVFAIL',
  'refused-dns': 'DNS REFUSED',
  'dns-timeout': 'DNS timeout',
  'dns-error': 'DNS error',
  'address-mismatch': 'name resolves elsewhere',
  'connection-refused': 'connection refused',
  unreachable: 'unreachable',
  'wrong-identity': 'wrong identity',
  'token-mismatch': 'token mismatch',
  'version-mismatch': 'another peer-rendezvous release',
  'protocol-error': 'protocol error',
  'internal-error': 'internal error (a bug: please report it)',
  busy: 'busy, retrying',
  connected: 'connected, checking its name',
  'checking-peers': 'connected, checking the other peers',
  ready: 'ready',
  disconnected: 'disconnected',
};

/** `NXDOMAIN since 12 s`. */
export function describeState(report: PeerReport, now: number): string {
  const secs = Math.max(0, Math.round((now - report.since) / 1000));
  const base = `${PHRASE[report.state]} since ${secs} s`;
  return report.detail ? `${base} (${report.detail})` : base;
}

/** The table printed on timeout: one line a peer. */
export function formatReport(reports: readonly PeerReport[], now: number, limit = 50): string {
  const lines = reports.slice(0, limit).map((r) => {
    const who = r.seenBy === 'coordinator' ? " [coordinator's view]" : '';
    return `  ${String(r.index).padStart(5)}  ${r.fqdn}  ${describeState(r, now)}${who}`;
  });
  if (reports.length > limit) lines.push(`  … and ${reports.length - limit} more`);
  return lines.join('\n');
}

/** What the user should look at, given the unfinished peers and what this pod's own name resolves to. */
export function hintsFor(
  reports: readonly PeerReport[],
  context: {
    total: number;
    selfState?: PeerStateKind | undefined;
    service?: string | undefined;
    jobName?: string | undefined;
    /** The agent port (named in the hint for a peer still busy at the deadline). */
    port?: number | undefined;
  },
): string[] {
  const hints: string[] = [];
  const selfMissing = context.selfState === 'nxdomain' || context.selfState === 'nodata';
  const nothingSeen =
    reports.length > 0 &&
    reports.every((r) => r.state === 'unknown' || r.state === 'nxdomain' || r.state === 'nodata');
  if (selfMissing && nothingSeen) {
    hints.push(
      `no peer name resolves, this pod's own included: is there a headless Service ${context.service ? `"${context.service}" ` : ''}(clusterIP: None) whose name equals the pod template's subdomain, selecting the Job's pods${context.jobName ? ` (batch.kubernetes.io/job-name: ${context.jobName})` : ''}?`,
    );
  }
  if (selfMissing) {
    hints.push(
      "this pod's own record is not published (its address is not in the headless Service's answer): a pod's record exists only once it is Ready unless the Service sets publishNotReadyAddresses: true; as an init container (the pod cannot be Ready yet) that setting is required",
    );
  }
  const cached = reports.find((r) => /is cached until/.test(r.detail));
  if (cached) {
    hints.push(
      `the cluster DNS caches denials (${cached.detail}): a name asked before its record exists stays unresolvable for the SOA's negative TTL, for every pod. Set publishNotReadyAddresses: true on the headless Service so each pod's record exists from the time it has an IP, or use --peer-address ip so only the coordinator's name is needed`,
    );
  }
  if (reports.some((r) => r.state === 'internal-error'))
    hints.push('an internal error stopped a check: please report it with this output');
  if (reports.some((r) => r.state === 'cname-loop'))
    hints.push(
      "a peer's name is a CNAME chain that comes back to itself: fix the DNS records (an ExternalName Service, a CoreDNS rewrite or a stub zone pointing back)",
    );
  if (reports.some((r) => r.state === 'servfail'))
    hints.push('the cluster DNS answers SERVFAIL: check the CoreDNS pods and their logs');
  const silent = reports.filter((r) => r.state === 'dns-timeout');
  if (silent.some((r) => r.detail.startsWith('ECONNREFUSED')))
    hints.push(
      'nothing listens on the DNS server address (ECONNREFUSED, an ICMP port unreachable): is --dns-server / the nameserver in resolv.conf right?',
    );
  if (silent.some((r) => r.detail.startsWith('EMFILE') || r.detail.startsWith('ENFILE')))
    hints.push(
      "the agent ran out of file descriptors (EMFILE): raise the container's open-files limit (ulimit -n)",
    );
  if (silent.some((r) => !/^(ECONNREFUSED|EMFILE|ENFILE)\b/.test(r.detail)))
    hints.push(
      'the cluster DNS does not answer: check --dns-server / the nameserver in resolv.conf and NetworkPolicies for port 53',
    );
  if (reports.some((r) => r.state === 'connection-refused' || r.state === 'unreachable')) {
    hints.push(
      'names resolve but the agent port does not answer: is peer-rendezvous running on every pod with the same --port, and do NetworkPolicies allow it?',
    );
  }
  if (reports.some((r) => r.state === 'busy'))
    hints.push(
      `a peer was still busy at the deadline: something else answers on port ${context.port ?? 'the agent port'} — another server on the port, or the coordinator is shedding connections under load/attack (its log warns "shedding unauthenticated connections")`,
    );
  if (reports.some((r) => r.state === 'token-mismatch'))
    hints.push(
      'token mismatch: every pod must get the same token (--token-file / PEER_RENDEZVOUS_TOKEN_FILE, or --token / PEER_RENDEZVOUS_TOKEN)',
    );
  if (reports.some((r) => r.state === 'version-mismatch'))
    hints.push(
      'pods run different peer-rendezvous releases (another protocol version): give every pod of the Job the same image, by digest or an immutable tag',
    );
  if (reports.some((r) => r.state === 'wrong-identity'))
    hints.push(
      'an address answers as another job or index: a stale DNS record, or two Jobs sharing one Service',
    );
  if (reports.some((r) => r.state === 'address-mismatch'))
    hints.push(
      'a name resolves to another address than the pod connected from: stale records after a restart (a cache in front of the cluster DNS serves the old address until its TTL runs out), or hostNetwork/NAT between pods; --peer-address ip hands the workload the addresses proven by handshake and does not wait for names',
    );
  return hints;
}
