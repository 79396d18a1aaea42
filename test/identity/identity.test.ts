import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { discoverIdentity } from '../../src/identity/identity.js';
import { splitPodFqdn } from '../../src/identity/pod-view.js';
import type { SourceOverrides } from '../../src/identity/sources.js';

const HOSTS = '10.244.1.7\texample-job-2.headless-svc.default.svc.cluster.local\texample-job-2\n';
const RESOLV =
  'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n';

function sources(
  files: Record<string, string>,
  env: Record<string, string> = {},
  host = 'example-job-2',
): SourceOverrides {
  return {
    env,
    hostname: () => host,
    readFile: (p) => files[p],
    paths: { hosts: '/etc/hosts', resolvConf: '/etc/resolv.conf', namespace: '/sa/namespace' },
  };
}

const seed = sources({ '/etc/hosts': HOSTS, '/etc/resolv.conf': RESOLV }, { JOB_COMPLETION_INDEX: '2' });

describe('discoverIdentity', () => {
  it('discovers the seed pod from its files, each value with its source', () => {
    const id = discoverIdentity({ completions: 3 }, seed);
    expect(id.index).toEqual({ value: 2, source: 'env JOB_COMPLETION_INDEX' });
    expect(id.completions).toEqual({ value: 3, source: 'option completions' });
    expect(id.jobName).toEqual({ value: 'example-job', source: 'hostname(2) minus -2' });
    expect(id.subdomain).toEqual({ value: 'headless-svc', source: '/etc/hosts FQDN' });
    expect(id.namespace).toEqual({ value: 'default', source: '/etc/hosts FQDN' });
    expect(id.clusterDomain).toEqual({
      value: 'cluster.local',
      source: '/etc/resolv.conf search svc.cluster.local',
    });
    expect(id.peers).toEqual(
      [0, 1, 2].map((i) => `example-job-${i}.headless-svc.default.svc.cluster.local.`),
    );
    expect(id.self).toBe(id.peers[2]);
    expect(id.coordinator).toBe(id.peers[0]);
    expect(id.hostsEntry?.address).toBe('10.244.1.7');
    expect(id.warnings).toEqual([]);
  });

  it('lets options win over files and env, and names their origin', () => {
    const id = discoverIdentity(
      {
        index: '1',
        completions: '4',
        jobName: 'train',
        subdomain: 'workers',
        namespace: 'ml',
        clusterDomain: 'k8s.example.',
        origins: { index: 'flag --index' },
      },
      seed,
    );
    expect(id.index.source).toBe('flag --index');
    expect(id.peers[3]).toBe('train-3.workers.ml.svc.k8s.example.');
    expect(id.warnings.some((w) => w.includes('differs from "cluster.local"'))).toBe(true);
    expect(id.warnings.some((w) => w.includes('hostname "example-job-2" is not "train-1"'))).toBe(true);
  });

  it('falls back to the service-account namespace file and the default domain', () => {
    const id = discoverIdentity(
      { completions: 2, subdomain: 'svc1' },
      sources(
        {
          '/sa/namespace': 'team-a\n',
          '/etc/hosts': '10.0.0.3 job-1\n',
          '/etc/resolv.conf': 'nameserver 10.0.0.10\n',
        },
        { JOB_COMPLETION_INDEX: '1' },
        'job-1',
      ),
    );
    expect(id.namespace).toEqual({ value: 'team-a', source: '/sa/namespace' });
    expect(id.clusterDomain).toEqual({ value: 'cluster.local', source: 'default' });
    expect(id.warnings.join('\n')).toMatch(
      /no svc\.<domain> search entry: the pod's dnsPolicy is not ClusterFirst/,
    );
    expect(id.warnings.join('\n')).toMatch(/has no FQDN for "job-1": the pod has no subdomain/);
  });

  it.each([
    [{ JOB_COMPLETION_INDEX: 'abc' }, {}, /"abc" from env JOB_COMPLETION_INDEX/],
    [{ JOB_COMPLETION_INDEX: '-1' }, {}, /"-1" from env JOB_COMPLETION_INDEX/],
    [{ JOB_COMPLETION_INDEX: '1.5' }, {}, /"1.5" from env JOB_COMPLETION_INDEX/],
    [
      { JOB_COMPLETION_INDEX: '3' },
      {},
      /completion index 3 from env JOB_COMPLETION_INDEX .* < completions \(3/,
    ],
    [{ JOB_COMPLETION_INDEX: '0' }, { completions: '0' }, /completions "0"/],
    [{ JOB_COMPLETION_INDEX: '0' }, { completions: '100001' }, /completions "100001"/],
    [
      { JOB_COMPLETION_INDEX: '2' },
      { jobName: 'Example_Job' },
      /job name "Example_Job" from option jobName is not a valid DNS-1123 label/,
    ],
    [
      { JOB_COMPLETION_INDEX: '2' },
      { jobName: `${'j'.repeat(62)}` },
      /makes hostname "j{62}-2" 64 characters long/,
    ],
    [{ JOB_COMPLETION_INDEX: '2' }, { completions: undefined }, /no completions \(world size\)/],
    [{}, {}, /no completion index: JOB_COMPLETION_INDEX is not set/],
  ])('rejects env %j with options %j', (env, opts, message) => {
    const src = sources({ '/etc/hosts': HOSTS, '/etc/resolv.conf': RESOLV }, env);
    expect(() => discoverIdentity({ completions: 3, ...opts }, src)).toThrow(
      expect.objectContaining({ code: 'RDV_ERR_CONFIG', message: expect.stringMatching(message) }),
    );
  });

  it('fails with a hint when the pod has no subdomain and none is given', () => {
    const src = sources(
      { '/etc/hosts': '10.0.0.2 job-0\n', '/sa/namespace': 'default' },
      { JOB_COMPLETION_INDEX: '0' },
      'job-0',
    );
    expect(() => discoverIdentity({ completions: 2 }, src)).toThrow(/no subdomain: .* no FQDN for "job-0"/);
  });

  it('fails when the hostname is not <job>-<index> and no job name is given', () => {
    const src = sources({ '/sa/namespace': 'default' }, { JOB_COMPLETION_INDEX: '1' }, 'mypod');
    expect(() => discoverIdentity({ completions: 2, subdomain: 's' }, src)).toThrow(
      /no job name: hostname "mypod" is not <job>-1/,
    );
  });

  describe('explicit peer list', () => {
    it('takes completions from the list and the index from the hostname position', () => {
      const id = discoverIdentity(
        {
          peers:
            'web-0.web.db.svc.cluster.local,web-1.web.db.svc.cluster.local,WEB-2.web.db.svc.cluster.local.',
        },
        sources({}, {}, 'web-1'),
      );
      expect(id.mode).toBe('peers');
      expect(id.completions.value).toBe(3);
      expect(id.index).toEqual({
        value: 1,
        source: 'position of hostname(2) "web-1.web.db.svc.cluster.local" in option peers',
      });
      expect(id.peers[2]).toBe('web-2.web.db.svc.cluster.local.');
      expect(id.jobKey).toMatch(/^peers\/[0-9a-f]{16}$/);
    });
    const list = (peers: string, extra: object = {}) =>
      discoverIdentity(
        { peers, index: 0, namespace: 'ns', origins: { peers: 'flag --peers' }, ...extra },
        sources({}),
      );
    it('keeps IP literals as they are', () => {
      expect(list('127.0.0.1, ::1').peers).toEqual(['127.0.0.1', '::1']);
    });
    it('rejects duplicates, empty entries and a completions mismatch', () => {
      expect(() => list('a.b.c.d.,A.B.C.D')).toThrow(/"A\.B\.C\.D" appears twice in flag --peers/);
      expect(() => list('web-0.nginx,web-0.nginx.ns.svc.cluster.local.')).toThrow(
        /both are "web-0\.nginx\.ns\.svc\.cluster\.local\."/,
      );
      expect(() => list('a,,b')).toThrow(/empty entry/);
      expect(() => list('a,b_c')).toThrow(/peer name "b_c.ns.svc.cluster.local." from flag --peers/);
      expect(() => list('a,b', { completions: 3 })).toThrow(/completions 3 .* does not match the 2 names/);
    });
  });

  it('builds every peer name as an absolute, valid name in index order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.nat(), (completions, seedIndex) => {
        const index = seedIndex % completions;
        const id = discoverIdentity(
          { index, completions, jobName: 'job', subdomain: 'svc', namespace: 'ns' },
          sources({}, {}, `job-${index}`),
        );
        expect(id.peers).toHaveLength(completions);
        expect(id.peers[index]).toBe(`job-${index}.svc.ns.svc.cluster.local.`);
        expect(id.peers.every((p, i) => p === `job-${i}.svc.ns.svc.cluster.local.`)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('splits a kubelet FQDN', () => {
    expect(splitPodFqdn('a-0.s.ns.svc.k8s.example.org.')).toEqual({
      hostname: 'a-0',
      subdomain: 's',
      namespace: 'ns',
      domain: 'k8s.example.org',
    });
    expect(splitPodFqdn('a-0.s.ns.cluster.local')).toBeUndefined();
  });
});
