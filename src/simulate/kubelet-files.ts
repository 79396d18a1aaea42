// The files the kubelet writes into a pod: /etc/hosts with the pod's FQDN, /etc/resolv.conf for ClusterFirst.

/** The kubelet's /etc/hosts for a pod: localhost, then `<ip>\t<fqdn>\t<hostname>`. */
export function kubeletHosts(address: string, hostname: string, fqdn: string | undefined): string {
  const names = fqdn === undefined ? hostname : `${fqdn}\t${hostname}`;
  return `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${address}\t${names}\n`;
}

/** The kubelet's /etc/resolv.conf for a ClusterFirst pod. */
export function kubeletResolvConf(search: readonly string[], nameserver: string): string {
  return `search ${search.join(' ')}\nnameserver ${nameserver}\noptions ndots:5\n`;
}
