// Parser for /etc/hosts as the kubelet writes it: `<ip>\t<fqdn>\t<hostname>` when the pod has a subdomain.

/** One address line of a hosts file. */
export interface HostsEntry {
  readonly address: string;
  readonly names: readonly string[];
}

/** Parse hosts(5) text into address lines; comments and blank lines are dropped. */
export function parseHostsFile(text: string): HostsEntry[] {
  const entries: HostsEntry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const [address, ...names] = line.split(/\s+/);
    if (address !== undefined && names.length > 0) entries.push({ address, names });
  }
  return entries;
}

/** The pod's own FQDN and address: a line naming `hostname` that also has a name `<hostname>.…`. */
export function findPodFqdn(
  entries: readonly HostsEntry[],
  hostname: string,
): { fqdn: string; address: string } | undefined {
  const host = hostname.toLowerCase();
  for (const entry of entries) {
    const lower = entry.names.map((n) => n.toLowerCase());
    const fqdn = lower.find((n) => n.startsWith(`${host}.`) && n.length > host.length + 1);
    if (fqdn !== undefined)
      return { fqdn: fqdn.endsWith('.') ? fqdn.slice(0, -1) : fqdn, address: entry.address };
  }
  return undefined;
}
