import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterDomainFromSearch, parseResolvConf } from '../../src/dns/resolv-conf.js';
import { findPodFqdn, parseHostsFile } from '../../src/identity/hosts-file.js';

describe('resolv.conf', () => {
  it('reads a ClusterFirst pod resolv.conf', () => {
    const rc = parseResolvConf(
      'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    expect(rc).toMatchObject({
      nameservers: ['10.96.0.10'],
      search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      ndots: 5,
      timeout: 5,
      attempts: 2,
    });
    expect(clusterDomainFromSearch(rc.search)).toBe('cluster.local');
  });
  it('keeps at most three nameservers, caps options like glibc, and drops comments', () => {
    const rc = parseResolvConf(
      '# comment\nnameserver 1.1.1.1\nnameserver ::1 ; x\nnameserver 3.3.3.3\nnameserver 4.4.4.4\noptions ndots:99 timeout:60 attempts:9 rotate edns0\n',
    );
    expect(rc.nameservers).toEqual(['1.1.1.1', '::1', '3.3.3.3']);
    expect([rc.ndots, rc.timeout, rc.attempts]).toEqual([15, 30, 5]);
  });
  it('lets the last of search and domain win, as glibc does', () => {
    expect(parseResolvConf('search a.example b.example\ndomain c.example\n').search).toEqual(['c.example']);
    expect(parseResolvConf('domain c.example\nsearch a.example.\n').search).toEqual(['a.example']);
  });
  it('reports lines it does not understand', () => {
    expect(parseResolvConf('bogus line\nnameserver\n').ignored.map((l) => l.line)).toEqual([1, 2]);
  });
  it('finds a custom cluster domain and none for dnsPolicy Default', () => {
    expect(clusterDomainFromSearch(['ns.svc.k8s.example.org', 'svc.k8s.example.org'])).toBe(
      'k8s.example.org',
    );
    expect(clusterDomainFromSearch(['corp.example', 'example'])).toBeUndefined();
  });
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string(), (s) => void parseResolvConf(s)));
  });
});

describe('hosts file', () => {
  const text =
    '127.0.0.1\tlocalhost\n# Entries added by HostAliases.\n10.244.1.7\texample-job-2.headless-svc.default.svc.cluster.local\texample-job-2\n';
  it('finds the kubelet-written FQDN and address', () => {
    expect(findPodFqdn(parseHostsFile(text), 'example-job-2')).toEqual({
      fqdn: 'example-job-2.headless-svc.default.svc.cluster.local',
      address: '10.244.1.7',
    });
  });
  it('finds nothing for a pod without subdomain (hostname only)', () => {
    expect(findPodFqdn(parseHostsFile('10.244.1.7\texample-job-2\n'), 'example-job-2')).toBeUndefined();
  });
  it('does not take another host that shares a prefix', () => {
    expect(
      findPodFqdn(
        parseHostsFile('10.0.0.1 example-job-20.s.ns.svc.cluster.local example-job-20\n'),
        'example-job-2',
      ),
    ).toBeUndefined();
  });
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (s, h) => void findPodFqdn(parseHostsFile(s), h)));
  });
});
