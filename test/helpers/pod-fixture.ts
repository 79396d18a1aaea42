// A fixture pod: a temp directory with kubelet-style hosts and resolv.conf files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PodFixture {
  readonly dir: string;
  readonly hosts: string;
  readonly resolvConf: string;
  readonly namespaceFile: string;
  /** CLI flags pointing at the fixture files. */
  readonly flags: string[];
  cleanup(): void;
}

export const SEED_HOSTS =
  '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n10.244.1.7\texample-job-2.headless-svc.default.svc.cluster.local\texample-job-2\n';
export const SEED_RESOLV =
  'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n';

/** Write a fixture pod; files left undefined are not created. */
export function podFixture(
  files: { hosts?: string; resolvConf?: string; namespace?: string } = {},
): PodFixture {
  const dir = mkdtempSync(join(tmpdir(), 'rdv-pod-'));
  const hosts = join(dir, 'hosts');
  const resolvConf = join(dir, 'resolv.conf');
  const namespaceFile = join(dir, 'namespace');
  if (files.hosts !== undefined) writeFileSync(hosts, files.hosts);
  if (files.resolvConf !== undefined) writeFileSync(resolvConf, files.resolvConf);
  if (files.namespace !== undefined) writeFileSync(namespaceFile, files.namespace);
  return {
    dir,
    hosts,
    resolvConf,
    namespaceFile,
    flags: ['--hosts-file', hosts, '--resolv-conf', resolvConf, '--namespace-file', namespaceFile],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
