// Volcano: the svc plugin's per-task host lists (VC_<TASK>_HOSTS or /etc/volcano/<task>.host), tasks in order.
import { ConfigError, quote } from '../../errors.js';
import { completeName, envOf, type PodView, type Sourced } from '../pod-view.js';
import type { Origin, ProviderOptions, ProviderResult } from '../providers.js';
import { int, namespaceOf, need, nonEmpty, selfCheck } from './shared.js';

/** The Volcano provider: the hosts of every task in `--volcano-tasks` (or alphabetical) order. */
export function volcanoProvider(view: PodView, o: ProviderOptions, origin: Origin): ProviderResult {
  const warnings: string[] = [];
  const taskIndexS = need(
    envOf(view, 'VC_TASK_INDEX') ?? envOf(view, 'VK_TASK_INDEX'),
    'no VC_TASK_INDEX: is this a Volcano job pod (env plugin)?',
    'env VC_TASK_INDEX',
  );
  const taskIndex = int(taskIndexS, 'task index', 0);
  const job = need(
    view.subdomain,
    `no vcjob name: ${view.sources.paths.hosts} has no FQDN for ${quote(view.hostname.value)} (the svc plugin sets subdomain = the job name); pass --subdomain`,
    view.sources.paths.hosts,
  );
  const host = view.hostname.value;
  const ns = namespaceOf(view, 'Volcano');
  // Hosts per task: VC_<TASK>_HOSTS env (svc plugin --inject-hosts-env), else /etc/volcano/<task>.host.
  const tasks = new Map<string, { hosts: string[]; source: string; num?: Sourced<string> }>();
  for (const [k, v] of Object.entries(view.env)) {
    const m = /^VC_([A-Z0-9_]+)_HOSTS$/.exec(k);
    if (!m || v === undefined) continue;
    const task = m[1]!.toLowerCase().replace(/_/g, '-');
    const num = envOf(view, `VC_${m[1]}_NUM`);
    tasks.set(task, {
      hosts: v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      source: `env ${k}`,
      ...(num ? { num } : {}),
    });
  }
  const ownTask =
    host.startsWith(`${job.value}-`) && host.endsWith(`-${taskIndex}`)
      ? host.slice(job.value.length + 1, host.length - String(taskIndex).length - 1)
      : undefined;
  const order = nonEmpty(o.volcanoTasks)
    ? String(o.volcanoTasks)
        .split(',')
        .map((s) => s.trim())
    : undefined;
  const wanted = new Set([...(order ?? []), ...tasks.keys(), ...(ownTask ? [ownTask] : [])]);
  for (const task of wanted) {
    if (tasks.has(task)) continue;
    const path = `${view.sources.paths.volcano}/${task}.host`;
    const text = view.sources.readFile(path);
    if (text !== undefined)
      tasks.set(task, {
        hosts: text
          .split('\n')
          .map((s) => s.trim())
          .filter(Boolean),
        source: path,
      });
  }
  if (ownTask === undefined || !tasks.has(ownTask)) {
    throw new ConfigError(
      `no host list for this pod's task: hostname ${quote(host)} is not <job ${job.value}>-<task>-${taskIndex} with a VC_<TASK>_HOSTS variable or ${view.sources.paths.volcano}/<task>.host (enable the svc plugin)`,
      { value: host, source: view.hostname.source },
    );
  }
  const names = order ?? [...tasks.keys()].sort();
  for (const t of names) {
    if (!tasks.has(t))
      throw new ConfigError(
        `task ${quote(t)} from ${origin('volcanoTasks')} has no VC_<TASK>_HOSTS variable and no ${view.sources.paths.volcano}/${t}.host`,
        {
          value: t,
          source: origin('volcanoTasks'),
        },
      );
  }
  if (!names.includes(ownTask))
    throw new ConfigError(
      `this pod's task ${quote(ownTask)} is not in ${quote(names.join(','))} from ${origin('volcanoTasks')}`,
      {
        value: names.join(','),
        source: origin('volcanoTasks'),
      },
    );
  const peers: string[] = [];
  let index = -1;
  for (const t of names) {
    const entry = tasks.get(t)!;
    if (entry.num !== undefined && int(entry.num, 'task size', 0) !== entry.hosts.length)
      warnings.push(
        `${entry.num.source}=${entry.num.value} but ${entry.source} lists ${entry.hosts.length} hosts`,
      );
    if (t === ownTask) index = peers.length + taskIndex;
    for (const h of entry.hosts)
      peers.push(completeName(h, { namespace: ns, clusterDomain: view.clusterDomain }, entry.source).name);
  }
  if (taskIndex >= tasks.get(ownTask)!.hosts.length)
    throw new ConfigError(
      `task index ${taskIndex} from ${taskIndexS.source} is outside the ${tasks.get(ownTask)!.hosts.length} hosts of ${tasks.get(ownTask)!.source}`,
      {
        value: String(taskIndex),
        source: taskIndexS.source,
      },
    );
  selfCheck(view, peers, index, warnings);
  warnings.push(
    'Volcano: the svc plugin\'s Service has publishNotReadyAddresses false unless the job sets the plugin argument --publish-not-ready-addresses (svc: ["--publish-not-ready-addresses"]); without it peers resolve only once Ready, so run the agent in the main container, not an init container or sidecar',
  );
  return {
    peers,
    index: { value: index, source: `hosts of the tasks before ${ownTask} + ${taskIndexS.source}` },
    completions: { value: peers.length, source: `hosts of tasks ${names.join(',')}` },
    jobName: { value: job.value, source: `${job.source} (the svc plugin's subdomain = vcjob name)` },
    subdomain: job,
    details: [
      {
        label: 'task',
        value: ownTask,
        source: `${view.hostname.source} minus ${job.value}- and -${taskIndex}`,
      },
      { label: 'task index', value: String(taskIndex), source: taskIndexS.source },
      {
        label: 'task order',
        value: names.join(','),
        source: order ? origin('volcanoTasks') : 'alphabetical (pass --volcano-tasks for another order)',
      },
      ...names.map((t) => ({
        label: `hosts ${t}`,
        value: String(tasks.get(t)!.hosts.length),
        source: tasks.get(t)!.source,
      })),
    ],
    jobKey: `volcano/${ns.value}/${job.value}/${names.join(',')}/${peers.length}`,
    warnings,
  };
}
