// Parser for resolv.conf(5): nameservers, search list, and the options the stub resolver honours.

/** What the resolver takes from a resolv.conf file. Defaults follow glibc. */
export interface ResolvConf {
  /** Nameserver addresses in file order (glibc uses at most 3; so do we). */
  readonly nameservers: readonly string[];
  /** Search list, without trailing dots. `domain` is folded in as glibc does (last of the two wins). */
  readonly search: readonly string[];
  /** `options ndots:n` (default 1, capped at 15). */
  readonly ndots: number;
  /** `options timeout:n` in seconds (default 5, capped at 30). */
  readonly timeout: number;
  /** `options attempts:n` (default 2, capped at 5). */
  readonly attempts: number;
  /** Lines that were not understood, 1-based line number and text, for `explain`. */
  readonly ignored: readonly { line: number; text: string }[];
}

/** glibc `MAXNS`. */
export const MAX_NAMESERVERS = 3;

const DEFAULTS = { ndots: 1, timeout: 5, attempts: 2 } as const;
const CAPS = { ndots: 15, timeout: 30, attempts: 5 } as const;

/** Parse resolv.conf text. Never throws: unknown or malformed lines are reported in `ignored`. */
export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let search: string[] = [];
  const opts: { ndots: number; timeout: number; attempts: number } = { ...DEFAULTS };
  const ignored: { line: number; text: string }[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') return;
    const [keyword, ...args] = line.split(/\s+/);
    switch (keyword) {
      case 'nameserver':
        if (args.length >= 1 && nameservers.length < MAX_NAMESERVERS) nameservers.push(args[0]!);
        else if (args.length === 0) ignored.push({ line: i + 1, text: raw });
        break;
      case 'search':
        search = args.map(stripDot).filter((s) => s !== '');
        break;
      case 'domain':
        search = args.length > 0 ? [stripDot(args[0]!)] : [];
        break;
      case 'options':
        for (const opt of args) {
          const m = /^(ndots|timeout|attempts):(\d+)$/.exec(opt);
          if (m) {
            const key = m[1] as keyof typeof CAPS;
            opts[key] = Math.min(Number(m[2]), CAPS[key]);
          }
          // Other options (rotate, edns0, single-request, …) do not change what we send.
        }
        break;
      default:
        ignored.push({ line: i + 1, text: raw });
    }
  });
  return { nameservers, search, ...opts, ignored };
}

function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/**
 * The cluster domain a kubelet-written resolv.conf implies: ClusterFirst pods get
 * `search <ns>.svc.<zone> svc.<zone> <zone>`. Returns the `<zone>` of the first `svc.<zone>` entry.
 */
export function clusterDomainFromSearch(search: readonly string[]): string | undefined {
  for (const entry of search) {
    const lower = entry.toLowerCase();
    if (lower.startsWith('svc.') && lower.length > 4) return lower.slice(4);
  }
  return undefined;
}
