// The record model of CoreDNS' `kubernetes` plugin for headless Services: which names exist and what each
// answers. Pure (no sockets); time comes from an injected clock so withdrawn records can linger for a while.
//
// Names are lower case, fully qualified and written without the trailing dot: `job-0.svc.ns.svc.cluster.local`.
// - Pod record `<hostname>.<subdomain>.<ns>.svc.<zone>`: exists while a headless Service named like the
//   subdomain exists in the namespace and the pod is Ready, or the pod has an address and the Service sets
//   `publishNotReadyAddresses` (EndpointSlice `ready = publishNotReady || serving`).
// - Service `<svc>.<ns>.svc.<zone>`: every published pod address (A and AAAA); no endpoints → NXDOMAIN.
// - SRV `_<port>._<proto>.<svc>.<ns>.svc.<zone>` for named ports: one record per published pod, targets the
//   pod FQDNs, their A/AAAA in Additional.
// - Negative answers (NXDOMAIN, NODATA) carry the zone SOA (TTL min(ttl, 300), MINIMUM = ttl); AA is set.
// - Anything outside the zone → REFUSED.
// Fault models: an address withdrawn (pod removed or no longer Ready) is still served for `staleForMs`; an
// address replaced by `setPod` with new addresses (a restarted pod) is still served for `restartOverlapMs`,
// so the name answers old + new addresses meanwhile.

import { quote, UsageError } from '../errors.js';
import { labelProblem, nameProblem } from '../identity/validate.js';
import { canonicalIp, ipFamily } from './ip-bytes.js';
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

interface ServicePortState {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

interface ServiceState {
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  readonly fqdn: string;
  readonly publishNotReadyAddresses: boolean;
  readonly ports: readonly ServicePortState[];
}

interface Lingering {
  readonly address: string;
  until: number;
}

interface PodState {
  /** `<hostname>.<subdomain>.<ns>.svc.<zone>`. */
  readonly fqdn: string;
  /** `<subdomain>.<ns>`: the Service that would select it. */
  readonly serviceKey: string;
  /** False once removed: the entry stays only while addresses linger. */
  present: boolean;
  addresses: readonly string[];
  ready: boolean;
  lingering: Lingering[];
}

type NameEntry =
  | { readonly kind: 'service'; readonly service: ServiceState }
  | { readonly kind: 'srv'; readonly service: ServiceState; readonly port: ServicePortState }
  | { readonly kind: 'pod'; readonly pod: PodState };

interface Published {
  readonly v4: string[];
  readonly v6: string[];
  validUntil: number;
}

/** CoreDNS' SOA timers (plugin/kubernetes, `Serial` aside). */
const SOA_REFRESH = 7200;
const SOA_RETRY = 1800;
const SOA_EXPIRE = 86_400;
const MAX_TTL = 3600;
const EMPTY: readonly ZoneRecord[] = Object.freeze([]);

/** The CoreDNS kubernetes-plugin record model for headless Services and their pods. */
export class ClusterZone {
  /** The cluster domain, lower case, no trailing dot. */
  readonly zone: string;
  /** TTL of positive records; the SOA MINIMUM (negative TTL). */
  readonly ttl: number;
  readonly #now: () => number;
  readonly #nameserver: string | undefined;
  readonly #serialBase: number;
  #linger: LingerTimes;
  #version = 0;
  readonly #services = new Map<string, ServiceState>();
  readonly #pods = new Map<string, PodState>();
  /** Pods by the Service key they would belong to, in the order they were first set. */
  readonly #podsByService = new Map<string, Set<PodState>>();
  readonly #names = new Map<string, NameEntry>();
  /** Services per namespace, so `<ns>.svc.<zone>` is an empty non-terminal while it has one. */
  readonly #namespaces = new Map<string, number>();

  constructor(options: ClusterZoneOptions = {}) {
    const zone = (options.zone ?? 'cluster.local').toLowerCase().replace(/\.$/, '');
    const zoneProblem = nameProblem(zone);
    if (zoneProblem !== undefined) throw new UsageError(`DNS zone ${quote(options.zone)} ${zoneProblem}`);
    const ttl = options.ttl ?? 5;
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) {
      throw new UsageError(
        `DNS ttl ${quote(ttl)} is invalid: expected an integer number of seconds 0–${MAX_TTL}`,
      );
    }
    let nameserver: string | undefined;
    if (options.nameserverAddress !== undefined) {
      nameserver = canonicalIp(options.nameserverAddress);
      if (nameserver === undefined) {
        throw new UsageError(`nameserverAddress ${quote(options.nameserverAddress)} is not an IP address`);
      }
    }
    this.zone = zone;
    this.ttl = ttl;
    this.#now = options.now ?? Date.now;
    this.#nameserver = nameserver;
    this.#serialBase = Math.floor(this.#now() / 1000) >>> 0;
    this.#linger = normalizeLinger(options.linger ?? {}, { staleForMs: 0, restartOverlapMs: 0 });
  }

  /** Mutation counter: changes whenever a Service or pod changes (answers computed before are stale). */
  get version(): number {
    return this.#version;
  }

  /** The current linger times. */
  get linger(): LingerTimes {
    return this.#linger;
  }

  /** Change how long withdrawn addresses linger; applies to withdrawals from now on. */
  setLinger(partial: Partial<LingerTimes>): void {
    this.#linger = normalizeLinger(partial, this.#linger);
  }

  /** `<hostname>.<subdomain>.<ns>.svc.<zone>` for a pod. */
  podFqdn(ref: PodRef): string {
    return `${ref.hostname}.${ref.subdomain}.${ref.namespace}.svc.${this.zone}`.toLowerCase();
  }

  /** `<svc>.<ns>.svc.<zone>` for a Service. */
  serviceFqdn(ref: ServiceRef): string {
    return `${ref.name}.${ref.namespace}.svc.${this.zone}`.toLowerCase();
  }

  /** Create or replace a headless Service; its pods' records appear (or go) accordingly. */
  addService(spec: ServiceSpec): void {
    const name = checkLabel('Service name', spec.name);
    const namespace = checkLabel('namespace', spec.namespace);
    const ports = (spec.ports ?? []).map((p, i) => checkPort(p, i, name));
    const seen = new Set<string>();
    for (const p of ports) {
      const key = `${p.name}/${p.protocol}`;
      if (seen.has(key)) throw new UsageError(`Service ${quote(name)} has port name ${quote(p.name)} twice`);
      seen.add(key);
    }
    const key = `${name}.${namespace}`;
    const fqdn = `${key}.svc.${this.zone}`;
    const service: ServiceState = {
      key,
      name,
      namespace,
      fqdn,
      publishNotReadyAddresses: spec.publishNotReadyAddresses === true,
      ports,
    };
    this.#withLinger(this.#podsByService.get(key), () => {
      const old = this.#services.get(key);
      if (old !== undefined) this.#unregisterService(old);
      this.#services.set(key, service);
      this.#names.set(fqdn, { kind: 'service', service });
      for (const port of ports) {
        this.#names.set(srvName(port, fqdn), { kind: 'srv', service, port });
      }
      this.#namespaces.set(namespace, (this.#namespaces.get(namespace) ?? 0) + 1);
    });
  }

  /** Delete a Service: its name and SRV names go at once; its pods' addresses linger like withdrawn ones. */
  removeService(ref: ServiceRef): boolean {
    const key = `${checkLabel('Service name', ref.name)}.${checkLabel('namespace', ref.namespace)}`;
    const service = this.#services.get(key);
    if (service === undefined) return false;
    this.#withLinger(this.#podsByService.get(key), () => this.#unregisterService(service));
    return true;
  }

  /** Create or update a pod (upsert by hostname, subdomain and namespace). */
  setPod(spec: PodSpec): void {
    const hostname = checkLabel('pod hostname', spec.hostname);
    const subdomain = checkLabel('pod subdomain', spec.subdomain);
    const namespace = checkLabel('namespace', spec.namespace);
    if (typeof spec.ready !== 'boolean') {
      throw new UsageError(
        `pod ${quote(hostname)} ready ${quote(spec.ready)} is invalid: expected true or false`,
      );
    }
    if (!Array.isArray(spec.addresses)) {
      throw new UsageError(`pod ${quote(hostname)} addresses must be an array of IP addresses`);
    }
    const addresses: string[] = [];
    for (const raw of spec.addresses) {
      const ip = typeof raw === 'string' && !raw.includes('%') ? canonicalIp(raw) : undefined;
      if (ip === undefined) {
        throw new UsageError(`pod ${quote(hostname)} address ${quote(raw)} is not an IPv4 or IPv6 address`);
      }
      if (!addresses.includes(ip)) addresses.push(ip);
    }
    const fqdn = `${hostname}.${subdomain}.${namespace}.svc.${this.zone}`;
    let pod = this.#pods.get(fqdn);
    if (pod === undefined) {
      pod = {
        fqdn,
        serviceKey: `${subdomain}.${namespace}`,
        present: false,
        addresses: [],
        ready: false,
        lingering: [],
      };
      this.#addPod(pod);
    }
    const target = pod;
    this.#withLinger([target], () => {
      target.present = true;
      target.addresses = addresses;
      target.ready = spec.ready;
    });
  }

  /** Delete a pod; its published addresses linger for `staleForMs`. False when there was no such pod. */
  removePod(ref: PodRef): boolean {
    const fqdn = this.podFqdn({
      hostname: checkLabel('pod hostname', ref.hostname),
      subdomain: checkLabel('pod subdomain', ref.subdomain),
      namespace: checkLabel('namespace', ref.namespace),
    });
    const pod = this.#pods.get(fqdn);
    if (pod === undefined || !pod.present) return false;
    this.#withLinger([pod], () => {
      pod.present = false;
      pod.addresses = [];
      pod.ready = false;
    });
    return true;
  }

  /**
   * Answer one question. `name` is matched case-insensitively, with or without the trailing dot; record
   * owners in the answer are the lower-case name.
   */
  resolve(name: string, type: ZoneQueryType): ZoneAnswer {
    let key = name.toLowerCase();
    if (key.endsWith('.')) key = key.slice(0, -1);
    return this.resolveNormalized(key, type);
  }

  /** {@link resolve} for a name already in lower case without the trailing dot (the server's hot path). */
  resolveNormalized(name: string, type: ZoneQueryType): ZoneAnswer {
    const zone = this.zone;
    if (name !== zone && !(name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 46)) {
      return {
        rcode: 'REFUSED',
        authoritative: false,
        answers: EMPTY,
        authority: EMPTY,
        additional: EMPTY,
        version: this.#version,
        validUntil: Number.POSITIVE_INFINITY,
      };
    }
    const entry = this.#names.get(name);
    if (entry !== undefined) {
      switch (entry.kind) {
        case 'pod':
          return this.#addressAnswer(name, type, this.#published([entry.pod]), entry.pod);
        case 'service':
          return this.#addressAnswer(name, type, this.#published(this.#podsByService.get(entry.service.key)));
        case 'srv':
          return this.#srvAnswer(name, type, entry.service, entry.port);
      }
    }
    if (name === zone) {
      if (type === 'SOA' || type === 'ANY')
        return this.#positive([this.soa()], EMPTY, Number.POSITIVE_INFINITY);
      if (type === 'NS') {
        return this.#positive(
          [{ type: 'NS', name, ttl: this.ttl, target: `ns.dns.${zone}` }],
          EMPTY,
          Infinity,
        );
      }
      return this.#negative(false, Number.POSITIVE_INFINITY);
    }
    if (name === `ns.dns.${zone}` && this.#nameserver !== undefined) {
      const family = ipFamily(this.#nameserver) === 6 ? 'AAAA' : 'A';
      if (type === family || type === 'ANY') {
        return this.#positive(
          [{ type: family, name, ttl: this.ttl, address: this.#nameserver }],
          EMPTY,
          Infinity,
        );
      }
      return this.#negative(false, Number.POSITIVE_INFINITY);
    }
    if (name === `svc.${zone}` || name === `dns.${zone}`)
      return this.#negative(false, Number.POSITIVE_INFINITY);
    const ns = name.slice(0, -`.svc.${zone}`.length);
    if (name.endsWith(`.svc.${zone}`) && (this.#namespaces.get(ns) ?? 0) > 0) {
      return this.#negative(false, Number.POSITIVE_INFINITY);
    }
    return this.#negative(true, Number.POSITIVE_INFINITY);
  }

  /** The zone's SOA record (TTL min(ttl, 300), MINIMUM = ttl, serial moving with every change). */
  soa(): ZoneRecord {
    return {
      type: 'SOA',
      name: this.zone,
      ttl: Math.min(this.ttl, 300),
      mname: `ns.dns.${this.zone}`,
      rname: `hostmaster.${this.zone}`,
      serial: (this.#serialBase + this.#version) >>> 0,
      refresh: SOA_REFRESH,
      retry: SOA_RETRY,
      expire: SOA_EXPIRE,
      minimum: this.ttl,
    };
  }

  /** Every name that currently exists with records (pods, Services, SRV names), for debugging and docs. */
  names(): string[] {
    const out: string[] = [];
    for (const name of this.#names.keys()) {
      if (this.resolveNormalized(name, 'ANY').answers.length > 0) out.push(name);
    }
    return out;
  }

  #addPod(pod: PodState): void {
    this.#pods.set(pod.fqdn, pod);
    this.#names.set(pod.fqdn, { kind: 'pod', pod });
    let members = this.#podsByService.get(pod.serviceKey);
    if (members === undefined) {
      members = new Set();
      this.#podsByService.set(pod.serviceKey, members);
    }
    members.add(pod);
  }

  #dropPod(pod: PodState): void {
    this.#pods.delete(pod.fqdn);
    this.#names.delete(pod.fqdn);
    const members = this.#podsByService.get(pod.serviceKey);
    members?.delete(pod);
    if (members?.size === 0) this.#podsByService.delete(pod.serviceKey);
  }

  #unregisterService(service: ServiceState): void {
    this.#services.delete(service.key);
    this.#names.delete(service.fqdn);
    for (const port of service.ports) this.#names.delete(srvName(port, service.fqdn));
    const count = (this.#namespaces.get(service.namespace) ?? 1) - 1;
    if (count > 0) this.#namespaces.set(service.namespace, count);
    else this.#namespaces.delete(service.namespace);
  }

  /** The addresses a pod publishes by its own state now (lingering ones aside). */
  #current(pod: PodState): readonly string[] {
    if (!pod.present || pod.addresses.length === 0) return EMPTY_STRINGS;
    const service = this.#services.get(pod.serviceKey);
    if (service === undefined) return EMPTY_STRINGS;
    return pod.ready || service.publishNotReadyAddresses ? pod.addresses : EMPTY_STRINGS;
  }

  /** Run a mutation of `pods`, then let the addresses they stopped publishing linger; bump the version. */
  #withLinger(pods: Iterable<PodState> | undefined, mutate: () => void): void {
    const list = pods === undefined ? [] : [...pods];
    const before = list.map((pod) => this.#current(pod));
    mutate();
    const now = this.#now();
    list.forEach((pod, i) => {
      const after = this.#current(pod);
      const ms = after.length > 0 ? this.#linger.restartOverlapMs : this.#linger.staleForMs;
      pod.lingering = pod.lingering.filter((l) => l.until > now && !after.includes(l.address));
      for (const address of before[i] ?? EMPTY_STRINGS) {
        if (after.includes(address) || ms <= 0) continue;
        const existing = pod.lingering.find((l) => l.address === address);
        if (existing !== undefined) existing.until = Math.max(existing.until, now + ms);
        else pod.lingering.push({ address, until: now + ms });
      }
      if (!pod.present && pod.lingering.length === 0) this.#dropPod(pod);
    });
    this.#version++;
  }

  /** Addresses published by `pods` now, lingering ones first (they were there before), deduplicated. */
  #published(pods: Iterable<PodState> | undefined): Published {
    const out: Published = { v4: [], v6: [], validUntil: Number.POSITIVE_INFINITY };
    if (pods === undefined) return out;
    const now = this.#now();
    for (const pod of pods) this.#collect(pod, now, out);
    return out;
  }

  #collect(pod: PodState, now: number, out: Published): void {
    for (const l of pod.lingering) {
      if (l.until <= now) continue;
      out.validUntil = Math.min(out.validUntil, l.until);
      pushAddress(out, l.address);
    }
    for (const address of this.#current(pod)) pushAddress(out, address);
  }

  #addressAnswer(name: string, type: ZoneQueryType, published: Published, pod?: PodState): ZoneAnswer {
    if (published.v4.length === 0 && published.v6.length === 0) {
      if (pod !== undefined && !pod.present && pod.lingering.every((l) => l.until <= this.#now())) {
        this.#dropPod(pod);
      }
      return this.#negative(true, published.validUntil);
    }
    const records: ZoneRecord[] = [];
    const ttl = this.ttl;
    if (type === 'A' || type === 'ANY') {
      for (const address of published.v4) records.push({ type: 'A', name, ttl, address });
    }
    if (type === 'AAAA' || type === 'ANY') {
      for (const address of published.v6) records.push({ type: 'AAAA', name, ttl, address });
    }
    if (records.length === 0) return this.#negative(false, published.validUntil);
    return this.#positive(records, EMPTY, published.validUntil);
  }

  #srvAnswer(name: string, type: ZoneQueryType, service: ServiceState, port: ServicePortState): ZoneAnswer {
    const now = this.#now();
    const targets: { fqdn: string; published: Published }[] = [];
    let validUntil = Number.POSITIVE_INFINITY;
    for (const pod of this.#podsByService.get(service.key) ?? []) {
      const published: Published = { v4: [], v6: [], validUntil: Number.POSITIVE_INFINITY };
      this.#collect(pod, now, published);
      validUntil = Math.min(validUntil, published.validUntil);
      if (published.v4.length + published.v6.length > 0) targets.push({ fqdn: pod.fqdn, published });
    }
    if (targets.length === 0) return this.#negative(true, validUntil);
    if (type !== 'SRV' && type !== 'ANY') return this.#negative(false, validUntil);
    const ttl = this.ttl;
    // CoreDNS: priority 0, weights sharing 100 equally (floor(100 / n)).
    const weight = Math.floor(100 / targets.length);
    const answers: ZoneRecord[] = [];
    const additional: ZoneRecord[] = [];
    for (const t of targets) {
      answers.push({ type: 'SRV', name, ttl, priority: 0, weight, port: port.port, target: t.fqdn });
      for (const address of t.published.v4) additional.push({ type: 'A', name: t.fqdn, ttl, address });
      for (const address of t.published.v6) additional.push({ type: 'AAAA', name: t.fqdn, ttl, address });
    }
    return this.#positive(answers, additional, validUntil);
  }

  #positive(
    answers: readonly ZoneRecord[],
    additional: readonly ZoneRecord[],
    validUntil: number,
  ): ZoneAnswer {
    return {
      rcode: 'NOERROR',
      authoritative: true,
      answers,
      authority: EMPTY,
      additional,
      version: this.#version,
      validUntil,
    };
  }

  #negative(nxdomain: boolean, validUntil: number): ZoneAnswer {
    return {
      rcode: nxdomain ? 'NXDOMAIN' : 'NOERROR',
      authoritative: true,
      answers: EMPTY,
      authority: [this.soa()],
      additional: EMPTY,
      version: this.#version,
      validUntil,
    };
  }
}

const EMPTY_STRINGS: readonly string[] = Object.freeze([]);

function pushAddress(out: Published, address: string): void {
  const list = address.includes(':') ? out.v6 : out.v4;
  if (!list.includes(address)) list.push(address);
}

function srvName(port: ServicePortState, serviceFqdn: string): string {
  return `_${port.name}._${port.protocol}.${serviceFqdn}`;
}

function checkLabel(what: string, value: unknown): string {
  const problem = typeof value === 'string' ? labelProblem(value) : 'must be a string';
  if (problem !== undefined)
    throw new UsageError(`${what} ${quote(value)} is not a valid DNS-1123 label: ${problem}`);
  return value as string;
}

/** IANA_SVC_NAME as Kubernetes validates port names: ≤ 15 of [a-z0-9-], a letter, no '--', no '-' at the ends. */
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkPort(p: ServicePortSpec, index: number, service: string): ServicePortState {
  const where = `Service ${quote(service)} port ${index}`;
  if (
    typeof p?.name !== 'string' ||
    p.name.length > 15 ||
    !PORT_NAME.test(p.name) ||
    p.name.includes('--') ||
    !/[a-z]/.test(p.name)
  ) {
    throw new UsageError(
      `${where} name ${quote(p?.name)} is invalid: expected an IANA service name (1–15 of a-z, 0-9, '-', with a letter)`,
    );
  }
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65_535) {
    throw new UsageError(
      `${where} (${p.name}) number ${quote(p.port)} is invalid: expected an integer 1–65535`,
    );
  }
  const protocol = p.protocol ?? 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp') {
    throw new UsageError(
      `${where} (${p.name}) protocol ${quote(protocol)} is invalid: expected 'tcp' or 'udp'`,
    );
  }
  return { name: p.name, port: p.port, protocol };
}

function normalizeLinger(partial: Partial<LingerTimes>, base: LingerTimes): LingerTimes {
  const out = { ...base };
  for (const key of Object.keys(partial) as (keyof LingerTimes)[]) {
    if (key !== 'staleForMs' && key !== 'restartOverlapMs') {
      throw new UsageError(`unknown linger option ${quote(key)}: expected staleForMs or restartOverlapMs`);
    }
    const value = partial[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new UsageError(`${key} ${quote(value)} is invalid: expected a number of milliseconds ≥ 0`);
    }
    out[key] = value;
  }
  return out;
}
