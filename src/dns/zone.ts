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
// The public types are in zone-types.ts, the internal state and linger model in zone-state.ts, answer
// building in zone-answer.ts, input checks in zone-checks.ts.

import { ipFamily } from './ip-bytes.js';
import {
  addressRecords,
  EMPTY,
  negativeAnswer,
  positiveAnswer,
  refusedAnswer,
  soaRecord,
  srvRecords,
} from './zone-answer.js';
import { checkLabel, checkPodState, checkPorts, checkZoneOptions, normalizeLinger } from './zone-checks.js';
import {
  collectAddresses,
  EMPTY_STRINGS,
  lingerWithdrawn,
  type NameEntry,
  type PodState,
  type Published,
  type ServicePortState,
  type ServiceState,
  srvName,
} from './zone-state.js';
import type {
  ClusterZoneOptions,
  LingerTimes,
  PodRef,
  PodSpec,
  ServiceRef,
  ServiceSpec,
  ZoneAnswer,
  ZoneQueryType,
  ZoneRecord,
} from './zone-types.js';

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
    const { zone, ttl, nameserver } = checkZoneOptions(options);
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
    const ports = checkPorts(spec.ports ?? [], name);
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
    const { ready, addresses } = checkPodState(hostname, spec.ready, spec.addresses);
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
      target.ready = ready;
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
      return refusedAnswer(this.#version);
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
    return soaRecord(this.zone, this.ttl, (this.#serialBase + this.#version) >>> 0);
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
      lingerWithdrawn(pod, before[i] ?? EMPTY_STRINGS, this.#current(pod), now, this.#linger);
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
    collectAddresses(pod, this.#current(pod), now, out);
  }

  #addressAnswer(name: string, type: ZoneQueryType, published: Published, pod?: PodState): ZoneAnswer {
    if (published.v4.length === 0 && published.v6.length === 0) {
      if (pod !== undefined && !pod.present && pod.lingering.every((l) => l.until <= this.#now())) {
        this.#dropPod(pod);
      }
      return this.#negative(true, published.validUntil);
    }
    const records = addressRecords(name, type, published, this.ttl);
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
    const { answers, additional } = srvRecords(name, this.ttl, port, targets);
    return this.#positive(answers, additional, validUntil);
  }

  #positive(
    answers: readonly ZoneRecord[],
    additional: readonly ZoneRecord[],
    validUntil: number,
  ): ZoneAnswer {
    return positiveAnswer(answers, additional, this.#version, validUntil);
  }

  #negative(nxdomain: boolean, validUntil: number): ZoneAnswer {
    return negativeAnswer(nxdomain, this.soa(), this.#version, validUntil);
  }
}
