// Checks every manifest test shares: the Kubernetes schemas (kubernetes-models), no unknown fields, and the
// invariants a working Indexed Job + headless Service pair needs.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { expect } from 'vitest';

type Obj = Record<string, unknown>;

const require = createRequire(import.meta.url);
const schemaDir = join(dirname(require.resolve('kubernetes-models/package.json')), '_schemas');

/** Every property name the core/v1 and batch/v1 schemas know (the compiled validators test `data.<name>`). */
const KNOWN_FIELDS: ReadonlySet<string> = (() => {
  const names = new Set<string>();
  for (const file of readdirSync(schemaDir)) {
    if (
      !/^IoK8s(ApiCoreV1|ApiBatchV1|ApimachineryPkgApisMetaV1|ApimachineryPkgApiResource|ApimachineryPkgUtilIntstr)/.test(
        file,
      )
    )
      continue;
    if (!file.endsWith('.mjs')) continue;
    for (const m of readFileSync(join(schemaDir, file), 'utf8').matchAll(
      /void 0===data\.([A-Za-z0-9_$]+)/g,
    )) {
      names.add(m[1]!);
    }
  }
  return names;
})();

// Maps whose keys are user data (label names, …), not schema fields.
const FREE_MAPS = new Set(['labels', 'annotations', 'selector', 'matchLabels', 'data', 'nodeSelector']);

/** Keys anywhere in `value` that no schema of core/v1 or batch/v1 has (typos). */
export function unknownFields(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownFields(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (!KNOWN_FIELDS.has(k)) out.push(`${path}.${k}`);
    if (!FREE_MAPS.has(k)) out.push(...unknownFields(v, `${path}.${k}`));
  }
  return out;
}

/** Validate one object against its Kubernetes schema; throws with the validator's message. */
export function validateObject(obj: Obj): void {
  const kind = `${obj.apiVersion}/${obj.kind}`;
  switch (kind) {
    case 'v1/Service':
      new Service(obj as never).validate();
      break;
    case 'batch/v1/Job':
      new Job(obj as never).validate();
      break;
    case 'v1/ConfigMap':
      new ConfigMap(obj as never).validate();
      break;
    default:
      throw new Error(`no schema check for ${kind}`);
  }
  expect(unknownFields(obj)).toEqual([]);
}

function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split('.'))
    cur = cur === null || typeof cur !== 'object' ? undefined : (cur as Obj)[key];
  return cur;
}

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Check a set of documents (one file, or one `manifest` output): each validates, and every Indexed Job has
 * a headless Service named like its subdomain that selects its pods, completions = parallelism, restartPolicy
 * Never, and the agent's PEER_RENDEZVOUS_COMPLETIONS equal to completions where it is set.
 */
export function checkDocuments(docs: readonly Obj[]): void {
  for (const d of docs) validateObject(d);
  const services = docs.filter((d) => d.kind === 'Service');
  const jobs = docs.filter((d) => d.kind === 'Job');
  expect(jobs.length).toBeGreaterThan(0);
  for (const job of jobs) {
    const name = String(get(job, 'metadata.name'));
    const completions = get(job, 'spec.completions') as number;
    expect(get(job, 'spec.completionMode')).toBe('Indexed');
    expect(get(job, 'spec.parallelism')).toBe(completions);
    expect(`${name}-${completions - 1}`).toMatch(LABEL);
    expect(`${name}-${completions - 1}`.length).toBeLessThanOrEqual(63);
    const pod = get(job, 'spec.template.spec') as Obj;
    expect(pod.restartPolicy).toBe('Never');
    const svc = services.find((s) => get(s, 'metadata.name') === pod.subdomain);
    expect(svc, `a Service named like subdomain ${String(pod.subdomain)}`).toBeDefined();
    expect(get(svc, 'spec.clusterIP')).toBe('None');
    expect(get(svc, 'metadata.namespace')).toBe(get(job, 'metadata.namespace'));
    const selector = get(svc, 'spec.selector') as Record<string, string>;
    expect(selector['batch.kubernetes.io/job-name'] ?? selector['job-name']).toBe(name);
    for (const port of (get(svc, 'spec.ports') as Obj[] | undefined) ?? []) {
      expect(String(port.name)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(String(port.name).length).toBeLessThanOrEqual(15);
    }
    const containers = [
      ...((pod.initContainers as Obj[] | undefined) ?? []),
      ...((pod.containers as Obj[] | undefined) ?? []),
    ];
    for (const c of containers) {
      for (const e of (c.env as Obj[] | undefined) ?? []) {
        if (e.name === 'PEER_RENDEZVOUS_COMPLETIONS') expect(e.value).toBe(String(completions));
      }
    }
  }
}
