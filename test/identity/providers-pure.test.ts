// Pure parts of the providers: search-list completion, the JobSet topology, global rank as a property.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { discoverIdentity } from '../../src/identity/identity.js';
import { completeName } from '../../src/identity/pod-view.js';
import { formatDownwardApiMap } from '../../src/identity/podinfo.js';
import { parseJobsetTopology } from '../../src/identity/providers/jobset.js';

const view = {
  namespace: { value: 'ml', source: 'x' },
  clusterDomain: { value: 'k8s.example', source: 'y' },
};

describe('completeName (the ClusterFirst search list <ns>.svc.<zone> svc.<zone> <zone>)', () => {
  it.each([
    ['web-0', 'web-0.ml.svc.k8s.example.'],
    ['web-0.nginx', 'web-0.nginx.ml.svc.k8s.example.'],
    ['web-0.nginx.db', 'web-0.nginx.db.svc.k8s.example.'],
    ['web-0.nginx.db.svc', 'web-0.nginx.db.svc.k8s.example.'],
    ['web-0.nginx.db.svc.k8s.example', 'web-0.nginx.db.svc.k8s.example.'],
    ['Web-0.Nginx.', 'web-0.nginx.'],
    ['node1.example.com.eu', 'node1.example.com.eu.'],
    ['10.0.0.7', '10.0.0.7'],
    ['fd00::7', 'fd00::7'],
  ])('%s → %s', (given, expected) => {
    expect(completeName(given, view, 'flag --peers').name).toBe(expected);
  });
  it('needs a namespace for host and host.svc forms, naming the value', () => {
    expect(() =>
      completeName(
        'web-0.nginx',
        { clusterDomain: view.clusterDomain, namespace: undefined },
        'flag --peers',
      ),
    ).toThrow(/peer name "web-0\.nginx" from flag --peers is relative and no namespace is known/);
  });
});

describe('parseJobsetTopology', () => {
  it('reads replicated jobs in order', () => {
    expect(parseJobsetTopology('driver=1x1, workers=2x4', 'f')).toEqual([
      { name: 'driver', replicas: 1, pods: 1 },
      { name: 'workers', replicas: 2, pods: 4 },
    ]);
  });
  it.each([
    '',
    'driver',
    'driver=1',
    'driver=0x1',
    'driver=1x0',
    'Driver=1x1',
    'a=1x1,a=1x2',
    'a=1x1,,b=1x1',
  ])('rejects %j naming the flag', (bad) => {
    expect(() => parseJobsetTopology(bad, 'flag --jobset-topology')).toThrow(/from flag --jobset-topology/);
  });
});

describe('JobSet global rank', () => {
  const rjobArb = fc.uniqueArray(
    fc.record({
      name: fc.constantFrom('driver', 'workers', 'ps', 'eval', 'node', 'launcher'),
      replicas: fc.integer({ min: 1, max: 3 }),
      pods: fc.integer({ min: 1, max: 4 }),
    }),
    { minLength: 1, maxLength: 4, selector: (r) => r.name },
  );
  it('every pod of every Job gets a distinct index equal to its place in the one shared peer list', () => {
    fc.assert(
      fc.property(rjobArb, (rjobs) => {
        const topology = rjobs.map((r) => `${r.name}=${r.replicas}x${r.pods}`).join(',');
        const total = rjobs.reduce((s, r) => s + r.replicas * r.pods, 0);
        const seen = new Set<number>();
        let lists: string | undefined;
        let jobsBefore = 0;
        for (const r of rjobs) {
          for (let j = 0; j < r.replicas; j++) {
            for (let p = 0; p < r.pods; p++) {
              const host = `js-${r.name}-${j}-${p}`;
              const annotations = formatDownwardApiMap({
                'jobset.sigs.k8s.io/jobset-name': 'js',
                'jobset.sigs.k8s.io/replicatedjob-name': r.name,
                'jobset.sigs.k8s.io/replicatedjob-replicas': String(r.replicas),
                'jobset.sigs.k8s.io/job-index': String(j),
                'jobset.sigs.k8s.io/job-global-index': String(jobsBefore + j),
              });
              const files: Record<string, string> = {
                '/etc/hosts': `10.0.0.1\t${host}.js.ns.svc.cluster.local\t${host}\n`,
                '/etc/resolv.conf':
                  'search ns.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\n',
                '/p/annotations': annotations,
              };
              const id = discoverIdentity(
                { jobsetTopology: topology },
                {
                  env: { JOB_COMPLETION_INDEX: String(p) },
                  hostname: () => host,
                  readFile: (path) => files[path],
                  paths: { hosts: '/etc/hosts', resolvConf: '/etc/resolv.conf', podinfo: '/p' },
                },
              );
              expect(id.provider.value).toBe('jobset');
              expect(id.completions.value).toBe(total);
              expect(id.self).toBe(`${host}.js.ns.svc.cluster.local.`);
              expect(id.peers[id.index.value]).toBe(id.self);
              expect(seen.has(id.index.value)).toBe(false);
              seen.add(id.index.value);
              lists ??= id.peers.join(',');
              expect(id.peers.join(',')).toBe(lists);
            }
          }
          jobsBefore += r.replicas;
        }
        expect(seen.size).toBe(total);
      }),
      { numRuns: 40 },
    );
  });
});
