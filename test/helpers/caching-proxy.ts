// A small caching DNS forwarder for tests, shaped like CoreDNS' `cache` plugin in front of `kubernetes`:
// every answer (positive or a denial) is kept for min(its TTL, cap) seconds — a denial's TTL being
// min(SOA TTL, SOA MINIMUM) — and served from the cache with the TTLs counted down, so a client can read how
// long the cache still holds it. UDP only, loopback only. The counters by name count the questions whose
// denials hurt (every type but the private-use ones the agent's existence probe asks, which `probed` counts:
// their denials are kept under their own type only, as CoreDNS keys its cache on name and type).
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';

/** The fields of a record and a packet this cache reads (dns-packet's types leave some out). */
type Rec = dnsPacket.Answer & { ttl?: number; data?: unknown };
type Pkt = dnsPacket.Packet & { rcode?: string };

interface Entry {
  readonly packet: dnsPacket.Packet;
  readonly storedAt: number;
  readonly until: number;
  readonly negative: boolean;
}

export interface CachingProxy {
  readonly host: string;
  readonly port: number;
  /** `host:port`, for --dns-server. */
  readonly address: string;
  /** Denials (NXDOMAIN / NODATA) the cache served instead of asking upstream, by lower-case name. */
  readonly deniedFromCache: Map<string, number>;
  /** Denials (NXDOMAIN / NODATA) sent to clients at all, from the cache or fresh, by lower-case name. */
  readonly denied: Map<string, number>;
  /** Questions the clients sent, by lower-case name. */
  readonly asked: Map<string, number>;
  /** Existence probes (private-use types, `UNKNOWN_65280` to dns-packet) the clients sent, by lower-case name. */
  readonly probed: Map<string, number>;
  /** Total denials served from the cache. */
  deniedHits(): number;
  close(): Promise<void>;
}

/**
 * Start a cache on `host` (port 0: any) in front of `upstream`; `capSeconds` caps every entry like `cache N`.
 * `privateTypes: 'nodata'` answers every private-use-type question NODATA itself (a server the existence probe
 * cannot use: its calibration fails and the grace rules decide alone, as before the probe).
 */
export async function startCachingProxy(
  upstream: { host: string; port: number },
  capSeconds: number,
  host = '127.0.0.1',
  options: { privateTypes?: 'pass' | 'nodata' } = {},
): Promise<CachingProxy> {
  const cache = new Map<string, Entry>();
  const deniedFromCache = new Map<string, number>();
  const asked = new Map<string, number>();
  const denied = new Map<string, number>();
  const probed = new Map<string, number>();
  const sock: Socket = createSocket('udp4');
  const pending = new Set<Socket>();
  const bump = (m: Map<string, number>, k: string): void => {
    m.set(k, (m.get(k) ?? 0) + 1);
  };
  sock.on('message', (msg, rinfo) => {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (!question) return;
    const name = `${question.name.toLowerCase().replace(/\.$/, '')}.`;
    const key = `${name}|${question.type}`;
    const probe = String(question.type).startsWith('UNKNOWN_');
    bump(probe ? probed : asked, name);
    if (probe && options.privateTypes === 'nodata') {
      const reply = { ...q, type: 'response' as const, flags: 0x0080, answers: [], authorities: [] };
      sock.send(dnsPacket.encode(reply), rinfo.port, rinfo.address);
      return;
    }
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.until > now) {
      const age = Math.floor((now - hit.storedAt) / 1000);
      const age1 = (rr: dnsPacket.Answer): dnsPacket.Answer =>
        ({ ...rr, ttl: Math.max(0, ((rr as Rec).ttl ?? 0) - age) }) as dnsPacket.Answer;
      const reply: dnsPacket.Packet = {
        ...hit.packet,
        id: q.id,
        flags: (hit.packet.flags ?? 0) & ~0x0400, // a cache's answer is not authoritative
        answers: (hit.packet.answers ?? []).map(age1),
        authorities: (hit.packet.authorities ?? []).map(age1),
        additionals: (hit.packet.additionals ?? []).filter((rr) => rr.type !== 'OPT').map(age1),
      };
      if (hit.negative && !probe) {
        bump(deniedFromCache, name);
        bump(denied, name);
      }
      sock.send(dnsPacket.encode(reply), rinfo.port, rinfo.address);
      return;
    }
    const up = createSocket('udp4');
    pending.add(up);
    const done = (): void => {
      pending.delete(up);
      up.close();
    };
    const timer = setTimeout(done, 2000);
    up.on('message', (answer) => {
      clearTimeout(timer);
      try {
        const a = dnsPacket.decode(answer) as Pkt;
        const denial = a.rcode === 'NXDOMAIN' || (a.rcode === 'NOERROR' && (a.answers ?? []).length === 0);
        let ttl: number | undefined;
        if (denial) {
          const soa = (a.authorities ?? []).find((rr) => rr.type === 'SOA') as
            | (Rec & { data: { minimum: number } })
            | undefined;
          if (soa) ttl = Math.min(soa.ttl ?? 0, soa.data.minimum);
        } else if (a.rcode === 'NOERROR')
          ttl = Math.min(...(a.answers ?? []).map((rr) => (rr as Rec).ttl ?? 0));
        if (denial && !probe) bump(denied, name);
        if (ttl !== undefined && ttl > 0) {
          const keep = Math.min(ttl, capSeconds) * 1000;
          cache.set(key, { packet: a, storedAt: Date.now(), until: Date.now() + keep, negative: denial });
        }
      } catch {
        // not cacheable: pass it on as it is
      }
      sock.send(answer, rinfo.port, rinfo.address);
      done();
    });
    up.send(msg, upstream.port, upstream.host);
  });
  await new Promise<void>((resolve) => sock.bind(0, host, resolve));
  const port = sock.address().port;
  return {
    host,
    port,
    address: `${host}:${port}`,
    deniedFromCache,
    denied,
    asked,
    probed,
    deniedHits: () => [...deniedFromCache.values()].reduce((a, b) => a + b, 0),
    close: async () => {
      for (const p of pending) p.close();
      await new Promise<void>((resolve) => sock.close(() => resolve()));
    },
  };
}
