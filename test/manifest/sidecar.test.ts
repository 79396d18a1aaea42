// `manifest --sidecar`: the native-sidecar pod, valid against the Kubernetes schemas, the probe sized to the
// timeout, the deadlock-prone combinations refused.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildManifest } from '../../src/manifest/build.js';
import { normalizeManifestOptions } from '../../src/manifest/options.js';
import { applySidecar, checkSidecarOptions, probeFailureThreshold } from '../../src/manifest/sidecar.js';
import { runCli } from '../helpers/cli.js';
import { checkDocuments } from './check-manifest.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked freely in assertions
type Obj = Record<string, any>;

async function manifest(argv: string[]): Promise<Obj[]> {
  const r = await runCli(['manifest', '--sidecar', ...argv]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
}

const base = ['--name', 'train', '--completions', '3', '--image', 'python:3.12'];

describe('manifest --sidecar', () => {
  it('a native sidecar gates the unchanged workload; shared emptyDir; publishNotReadyAddresses', async () => {
    const docs = await manifest([
      ...base,
      '--export',
      'torch',
      '--',
      'python',
      'train.py',
      '--lr',
      "0.1 'x'",
    ]);
    checkDocuments(docs);
    const [svc, job] = docs as [Obj, Obj];
    expect(svc.spec.publishNotReadyAddresses).toBe(true);
    const pod = job.spec.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.initContainers).toHaveLength(1);
    const sc = pod.initContainers[0];
    expect(sc.restartPolicy).toBe('Always');
    expect(sc.command.slice(0, 2)).toEqual(['/peer-rendezvous', 'sidecar']);
    expect(sc.command).toEqual(
      expect.arrayContaining(['--export', 'torch', '--export-dir', '/run/peer-rendezvous']),
    );
    expect(sc.startupProbe.httpGet).toEqual({ path: '/readyz', port: 'rdv-probe' });
    expect(sc.ports.map((p: Obj) => p.containerPort)).toEqual([29600, 29601]);
    const main = pod.containers[0];
    expect(main.image).toBe('python:3.12');
    // The command stays as given, after the sourcing shell: "$@" keeps each argument as one word.
    expect(main.command).toEqual([
      'sh',
      '-c',
      '. /run/peer-rendezvous/env && exec "$@"',
      'sh',
      'python',
      'train.py',
      '--lr',
      "0.1 'x'",
    ]);
    expect(main.volumeMounts).toEqual([
      { name: 'peer-rendezvous-exports', mountPath: '/run/peer-rendezvous', readOnly: true },
    ]);
    expect(sc.volumeMounts[0].name).toBe('peer-rendezvous-exports');
    expect(pod.volumes).toEqual([{ name: 'peer-rendezvous-exports', emptyDir: {} }]);
  });

  it('the startupProbe outlasts --timeout: periodSeconds × failureThreshold > timeout', async () => {
    for (const [timeout, seconds] of [
      [undefined, 600],
      ['30s', 30],
      ['1h', 3600],
      ['90s', 90],
    ] as const) {
      const docs = await manifest([...base, ...(timeout ? ['--timeout', timeout] : []), '--', 'true']);
      const probe = docs[1]!.spec.template.spec.initContainers[0].startupProbe;
      expect(probe.periodSeconds * probe.failureThreshold).toBeGreaterThan(seconds);
      expect(probe.failureThreshold).toBe(probeFailureThreshold(timeout));
    }
  });

  it('refuses --mode with --sidecar, and a Service without publishNotReadyAddresses (a deadlock)', async () => {
    const r = await runCli(['manifest', '--sidecar', '--mode', 'copy-in', ...base, '--', 'true']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/--sidecar replaces --mode \(got --mode copy-in\)/);
    const o = normalizeManifestOptions({ name: 'train', completions: '3', image: 'x', command: ['true'] });
    expect(() => checkSidecarOptions(o, { publishNotReadyAddresses: false })).toThrow(
      /--sidecar needs publishNotReadyAddresses: true .* \(a deadlock\)/,
    );
    expect(() => checkSidecarOptions(o, {})).not.toThrow();
    // The transform keeps the rest of the Job (name, completions, podFailurePolicy).
    const ff = normalizeManifestOptions({
      name: 'train',
      completions: '3',
      image: 'x',
      command: ['true'],
      failFastOnConfigError: true,
    });
    const m = applySidecar(buildManifest(ff), ff);
    expect((m.job.spec as Obj).podFailurePolicy).toBeDefined();
    expect((m.job.spec as Obj).completions).toBe(3);
  });

  it('refuses --kind mpijob (its Service has publishNotReadyAddresses false) and the other controllers', async () => {
    const mpi = await runCli(['manifest', '--sidecar', '--kind', 'mpijob', ...base, '--', 'true']);
    expect(mpi.code).toBe(64);
    expect(mpi.stderr).toMatch(
      /--sidecar needs publishNotReadyAddresses: true on the headless Service \(--kind mpijob's Service has it false\).*\(a deadlock\)/,
    );
    for (const kind of ['jobset', 'statefulset', 'lws', 'trainjob', 'vcjob']) {
      const r = await runCli(['manifest', '--sidecar', '--kind', kind, ...base, '--', 'true']);
      expect(r.code, kind).toBe(64);
      expect(r.stderr).toContain(`--kind ${kind} is not supported with it`);
    }
    // --kind job is the default shape.
    const docs = await manifest(['--kind', 'job', ...base, '--', 'true']);
    expect(docs[1]!.spec.template.spec.initContainers[0].restartPolicy).toBe('Always');
  });

  it('--token-secret: the Secret is a file mounted in the sidecar only, never env; the workload sees none', async () => {
    const docs = await manifest([...base, '--token-secret', 'rdv-token', '--', 'true']);
    checkDocuments(docs);
    const pod = docs[1]!.spec.template.spec;
    const [sidecar] = pod.initContainers;
    expect(sidecar.env).toContainEqual({
      name: 'PEER_RENDEZVOUS_TOKEN_FILE',
      value: '/var/run/secrets/peer-rendezvous/token',
    });
    expect(sidecar.env.some((e: Obj) => e.name === 'PEER_RENDEZVOUS_TOKEN')).toBe(false);
    expect(sidecar.volumeMounts).toContainEqual({
      name: 'peer-rendezvous-token',
      mountPath: '/var/run/secrets/peer-rendezvous',
      readOnly: true,
    });
    expect(sidecar.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    const [workload] = pod.containers;
    expect(workload.env).toBeUndefined();
    expect(workload.volumeMounts.map((m: Obj) => m.name)).not.toContain('peer-rendezvous-token');
    expect(pod.volumes).toContainEqual({
      name: 'peer-rendezvous-token',
      secret: { secretName: 'rdv-token', items: [{ key: 'token', path: 'token' }] },
    });
  });
});
