// Indexed Job: `<job>-<index>.<subdomain>.<ns>.svc.<zone>.` for every completion index (FIELD.md §1).
import { ConfigError, quote } from '../../errors.js';
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from '../../names.js';
import type { IdentityOptionName, IdentityOptions } from '../identity.js';
import { type Built, checkRange, completionsOption, indexOption } from '../options.js';
import { envOf, type PodView, podMeta, type Sourced, trimDot } from '../pod-view.js';
import { assertLabel, parseIndex } from '../validate.js';
import { escapeRe } from './shared.js';

const JOB_HOSTNAME = /^(.+)-(0|[1-9][0-9]*)$/;

/** The Indexed Job scheme: `<job>-<index>.<subdomain>.<ns>.svc.<zone>.` for every index. */
export function jobIdentity(
  options: IdentityOptions,
  view: PodView,
  origin: (name: IdentityOptionName) => string,
): Built {
  const warnings: string[] = [];
  const completions = completionsOption(options, origin);
  let index = indexOption(options, origin);
  if (index === undefined) {
    const jci =
      envOf(view, 'JOB_COMPLETION_INDEX') ?? podMeta(view, 'batch.kubernetes.io/job-completion-index');
    if (jci !== undefined) index = { value: parseIndex(jci.value, jci.source), source: jci.source };
  }
  if (index === undefined) {
    throw new ConfigError(
      'no completion index: JOB_COMPLETION_INDEX is not set (is this an Indexed Job?); pass --index or set PEER_RENDEZVOUS_INDEX, or --provider for another controller',
      { source: 'env JOB_COMPLETION_INDEX' },
    );
  }
  if (completions === undefined) {
    throw new ConfigError(
      "no completions (world size): Kubernetes does not inject it; pass --completions or set PEER_RENDEZVOUS_COMPLETIONS to the Job's spec.completions",
      { source: 'option completions' },
    );
  }
  checkRange(index, completions);
  const hostname = view.hostname;
  let jobName: Sourced<string> | undefined;
  if (options.jobName !== undefined && options.jobName !== '') {
    jobName = { value: options.jobName, source: origin('jobName') };
  } else {
    const m = JOB_HOSTNAME.exec(hostname.value);
    if (m && Number(m[2]) === index.value)
      jobName = { value: m[1]!, source: `${hostname.source} minus -${index.value}` };
  }
  const { subdomain, namespace, clusterDomain } = view;
  if (jobName !== undefined) assertLabel('job name', jobName.value, jobName.source);
  const paths = view.sources.paths;
  if (jobName === undefined) {
    throw new ConfigError(
      `no job name: hostname ${quote(hostname.value)} is not <job>-${index.value}; pass --job-name or set PEER_RENDEZVOUS_JOB_NAME`,
      { value: hostname.value, source: hostname.source },
    );
  }
  if (subdomain === undefined) {
    throw new ConfigError(
      `no subdomain: ${paths.hosts} has no FQDN for ${quote(hostname.value)} (the pod template has no spec.subdomain?); pass --subdomain or set PEER_RENDEZVOUS_SUBDOMAIN`,
      { source: paths.hosts },
    );
  }
  if (namespace === undefined) {
    throw new ConfigError(
      `no namespace: neither ${paths.hosts} nor ${paths.namespace} gives one; pass --namespace or set PEER_RENDEZVOUS_NAMESPACE`,
      { source: paths.namespace },
    );
  }
  // Kubernetes rejects an Indexed Job whose longest hostname `<name>-<completions-1>` is not a label.
  const longest = `${jobName.value}-${completions.value - 1}`;
  if (longest.length > MAX_LABEL_LENGTH) {
    throw new ConfigError(
      `job name ${quote(jobName.value)} from ${jobName.source} makes hostname ${quote(longest)} ${longest.length} characters long: a pod hostname is a DNS-1123 label of at most ${MAX_LABEL_LENGTH}`,
      { value: jobName.value, source: jobName.source },
    );
  }
  const suffix = `.${subdomain.value}.${namespace.value}.svc.${clusterDomain.value}.`;
  const longestName = `${longest}${suffix}`;
  if (longestName.length - 1 > MAX_NAME_LENGTH) {
    throw new ConfigError(
      `peer name ${quote(longestName)} is ${longestName.length - 1} characters long: a DNS name is at most ${MAX_NAME_LENGTH}`,
      {
        value: longestName,
        source: `${jobName.source}, ${subdomain.source}, ${namespace.source}, ${clusterDomain.source}`,
      },
    );
  }
  const peers = Array.from({ length: completions.value }, (_, i) => `${jobName.value}-${i}${suffix}`);
  const self = peers[index.value]!;
  if (hostname.value !== `${jobName.value}-${index.value}`) {
    warnings.push(
      `hostname ${quote(hostname.value)} is not ${quote(`${jobName.value}-${index.value}`)}: is this pod part of Indexed Job ${quote(jobName.value)}?`,
    );
  }
  // A JobSet pod seen as a bare Job: JOB_COMPLETION_INDEX counts within one child Job only.
  const js = new RegExp(`^${escapeRe(subdomain.value)}-.+-(0|[1-9][0-9]*)$`);
  if (js.test(jobName.value) && !options.jobName) {
    warnings.push(
      `hostname ${quote(hostname.value)} looks like a JobSet pod (<jobset ${subdomain.value}>-<rjob>-<job>-<pod>): these peers are one child Job only; mount the pod's annotations at --podinfo-dir, or pass --provider jobset --jobset-topology <rjob>=<replicas>x<pods>,…`,
    );
  }
  if (view.hostsEntry === undefined && view.fqdnParts === undefined) {
    warnings.push(
      `${view.hostsText === undefined ? `${paths.hosts} could not be read` : `${paths.hosts} has no FQDN for ${quote(hostname.value)}`}: the pod has no subdomain, so peers cannot resolve its name (set spec.template.spec.subdomain to the headless Service's name)`,
    );
  } else if (view.hostsEntry !== undefined && trimDot(self) !== view.hostsEntry.fqdn) {
    warnings.push(
      `own peer name ${quote(self)} differs from the FQDN ${quote(view.hostsEntry.fqdn)} in ${paths.hosts}`,
    );
  }
  return {
    mode: 'job',
    index,
    completions,
    jobName,
    subdomain,
    namespace,
    details: [],
    peers,
    jobKey: `${namespace.value}/${jobName.value}/${completions.value}`,
    warnings,
  };
}
