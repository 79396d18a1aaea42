// A fixture pod as a controller makes it: kubelet hosts and resolv.conf, the service-account namespace, a
// downward-API volume (labels, annotations in the kubelet's `key="value"` format) and controller-mounted files
// (MPI hostfile, Volcano <task>.host files). `flags` point the CLI at all of them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDownwardApiMap } from '../../src/identity/podinfo.js';

export interface ControllerPodSpec {
  /** The pod's hostname; with `subdomain` the kubelet writes `<ip> <fqdn> <hostname>` to /etc/hosts. */
  readonly hostname: string;
  readonly subdomain?: string;
  readonly namespace: string;
  readonly address?: string;
  readonly zone?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly mpiHostfile?: string;
  /** Volcano svc plugin ConfigMap `<job>-svc` mounted at /etc/volcano: task → its host lines. */
  readonly volcano?: Record<string, string>;
}

export interface ControllerPod {
  readonly dir: string;
  readonly flags: string[];
  readonly paths: {
    hosts: string;
    resolvConf: string;
    podinfo: string;
    mpiHostfile: string;
    volcano: string;
  };
  cleanup(): void;
}

/** The kubelet's /etc/hosts for a pod (pkg/kubelet managedHostsFileContent: the pod's own line last). */
export function kubeletHosts(address: string, hostname: string, fqdn: string | undefined): string {
  const own = fqdn === undefined ? `${address}\t${hostname}` : `${address}\t${fqdn}\t${hostname}`;
  return `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n${own}\n`;
}

export function controllerPod(spec: ControllerPodSpec): ControllerPod {
  const dir = mkdtempSync(join(tmpdir(), 'rdv-ctl-'));
  const zone = spec.zone ?? 'cluster.local';
  const fqdn =
    spec.subdomain === undefined
      ? undefined
      : `${spec.hostname}.${spec.subdomain}.${spec.namespace}.svc.${zone}`;
  const paths = {
    hosts: join(dir, 'hosts'),
    resolvConf: join(dir, 'resolv.conf'),
    namespace: join(dir, 'namespace'),
    podinfo: join(dir, 'podinfo'),
    mpiHostfile: join(dir, 'mpi', 'hostfile'),
    volcano: join(dir, 'volcano'),
  };
  writeFileSync(paths.hosts, kubeletHosts(spec.address ?? '10.244.1.7', spec.hostname, fqdn));
  writeFileSync(
    paths.resolvConf,
    `search ${spec.namespace}.svc.${zone} svc.${zone} ${zone}\nnameserver 10.96.0.10\noptions ndots:5\n`,
  );
  writeFileSync(paths.namespace, spec.namespace);
  mkdirSync(paths.podinfo);
  if (spec.labels) writeFileSync(join(paths.podinfo, 'labels'), formatDownwardApiMap(spec.labels));
  if (spec.annotations)
    writeFileSync(join(paths.podinfo, 'annotations'), formatDownwardApiMap(spec.annotations));
  if (spec.mpiHostfile !== undefined) {
    mkdirSync(join(dir, 'mpi'));
    writeFileSync(paths.mpiHostfile, spec.mpiHostfile);
  }
  if (spec.volcano) {
    mkdirSync(paths.volcano);
    for (const [task, text] of Object.entries(spec.volcano))
      writeFileSync(join(paths.volcano, `${task}.host`), text);
  }
  return {
    dir,
    paths,
    flags: [
      ...[
        '--hosts-file',
        paths.hosts,
        '--resolv-conf',
        paths.resolvConf,
        '--namespace-file',
        paths.namespace,
      ],
      ...[
        '--podinfo-dir',
        paths.podinfo,
        '--mpi-hostfile',
        paths.mpiHostfile,
        '--volcano-dir',
        paths.volcano,
      ],
    ],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
