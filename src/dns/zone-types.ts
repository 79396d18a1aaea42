// The public shapes of the cluster zone model (src/dns/zone.ts): Services, pods, linger times, answers.
import type { DnsRecord } from './types.js';

/** A named port of a Service; SRV records exist only for named ports. */
export interface ServicePortSpec {
  readonly name: string;
  readonly port: number;
  /** Default 'tcp'. */
  readonly protocol?: 'tcp' | 'udp';
}

/** A headless Service (clusterIP: None). */
export interface ServiceSpec {
  readonly name: string;
  readonly namespace: string;
  /** Publish pods that are not Ready (as soon as they have an address). Default false. */
  readonly publishNotReadyAddresses?: boolean;
  readonly ports?: readonly ServicePortSpec[];
}

/** Which Service: its name and namespace. */
export interface ServiceRef {
  readonly name: string;
  readonly namespace: string;
}

/** Which pod record: `<hostname>.<subdomain>.<namespace>`. */
export interface PodRef {
  readonly hostname: string;
  readonly subdomain: string;
  readonly namespace: string;
}

/** A pod as the kubelet and the EndpointSlice controller see it. */
export interface PodSpec extends PodRef {
  /** Pod IPs, IPv4 and/or IPv6 (dual stack). Empty while the pod has no IP yet. */
  readonly addresses: readonly string[];
  readonly ready: boolean;
}

/** How long withdrawn addresses are still answered (the zone's fault knobs). */
export interface LingerTimes {
  /** A pod removed or no longer published: its addresses are still served for this long. */
  readonly staleForMs: number;
  /** `setPod` replaced some addresses of a published pod: the old ones are still served for this long. */
  readonly restartOverlapMs: number;
}

/** Construction options of {@link ClusterZone}. */
export interface ClusterZoneOptions {
  /** Cluster domain. Default 'cluster.local'. */
  readonly zone?: string;
  /** TTL of every positive record, like CoreDNS `ttl` (0–3600). Default 5. */
  readonly ttl?: number;
  /** Address that `ns.dns.<zone>` answers (the DNS Service IP). Default: the name has no address. */
  readonly nameserverAddress?: string;
  /** Milliseconds clock. Default Date.now. */
  readonly now?: () => number;
  /** Default: no lingering. */
  readonly linger?: Partial<LingerTimes>;
}

/** Query types the model distinguishes; 'OTHER' is any other type (always NODATA or NXDOMAIN). */
export type ZoneQueryType = 'A' | 'AAAA' | 'SRV' | 'SOA' | 'NS' | 'ANY' | 'OTHER';

/** One record of an answer. `name` is the owner (lower case, no trailing dot). */
export type ZoneRecord =
  | DnsRecord
  | { readonly type: 'NS'; readonly name: string; readonly ttl: number; readonly target: string }
  | {
      readonly type: 'SOA';
      readonly name: string;
      readonly ttl: number;
      readonly mname: string;
      readonly rname: string;
      readonly serial: number;
      readonly refresh: number;
      readonly retry: number;
      readonly expire: number;
      readonly minimum: number;
    };

/** The model's answer to one question. */
export interface ZoneAnswer {
  readonly rcode: 'NOERROR' | 'NXDOMAIN' | 'REFUSED';
  /** AA: set for every answer from inside the zone. */
  readonly authoritative: boolean;
  readonly answers: readonly ZoneRecord[];
  /** The zone SOA on NXDOMAIN and NODATA. */
  readonly authority: readonly ZoneRecord[];
  /** A/AAAA of SRV targets. */
  readonly additional: readonly ZoneRecord[];
  /** The zone's mutation counter when this answer was computed. */
  readonly version: number;
  /** The answer may change by itself (a lingering address expires) at this time; Infinity when it cannot. */
  readonly validUntil: number;
}
