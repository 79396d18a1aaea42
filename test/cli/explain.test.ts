import { afterAll, describe, expect, it } from 'vitest';
import { runBin, runCli } from '../helpers/cli.js';
import { podFixture, SEED_HOSTS, SEED_RESOLV } from '../helpers/pod-fixture.js';

const pod = podFixture({ hosts: SEED_HOSTS, resolvConf: SEED_RESOLV });
afterAll(() => pod.cleanup());
const host = { hostname: () => 'example-job-2' };

describe('explain on the seed pod', () => {
  it('reports every value with its source and the three FQDNs', async () => {
    const r = await runCli(
      ['explain', '--completions', '3', ...pod.flags],
      { JOB_COMPLETION_INDEX: '2' },
      host,
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/index\s+2\s+env JOB_COMPLETION_INDEX/);
    expect(r.stdout).toMatch(/completions\s+3\s+flag --completions/);
    expect(r.stdout).toMatch(/job name\s+example-job\s+hostname\(2\) minus -2/);
    expect(r.stdout).toMatch(new RegExp(`subdomain\\s+headless-svc\\s+${pod.hosts} FQDN`));
    expect(r.stdout).toMatch(new RegExp(`namespace\\s+default\\s+${pod.hosts} FQDN`));
    expect(r.stdout).toMatch(/cluster domain\s+cluster\.local\s+.*resolv\.conf search svc\.cluster\.local/);
    for (const i of [0, 1, 2])
      expect(r.stdout).toContain(`example-job-${i}.headless-svc.default.svc.cluster.local.`);
    expect(r.stdout).not.toContain('warnings');
  });

  it('gives the same as one JSON object with --log-format json', async () => {
    const r = await runCli(
      ['explain', '--log-format', 'json', ...pod.flags],
      { JOB_COMPLETION_INDEX: '2', PEER_RENDEZVOUS_COMPLETIONS: '3' },
      host,
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.index).toEqual({ value: 2, source: 'env JOB_COMPLETION_INDEX' });
    expect(doc.completions).toEqual({ value: 3, source: 'env PEER_RENDEZVOUS_COMPLETIONS' });
    expect(doc.jobName.value).toBe('example-job');
    expect(doc.peers).toEqual(
      [0, 1, 2].map((i) => `example-job-${i}.headless-svc.default.svc.cluster.local.`),
    );
    expect(doc.coordinator).toBe(doc.peers[0]);
  });

  it('lets a flag win over its env var', async () => {
    const r = await runCli(
      ['explain', '--completions', '5', '--log-format=json', ...pod.flags],
      { JOB_COMPLETION_INDEX: '2', PEER_RENDEZVOUS_COMPLETIONS: '3' },
      host,
    );
    expect(JSON.parse(r.stdout).completions).toEqual({ value: 5, source: 'flag --completions' });
  });

  it('warns about dnsPolicy, hostname and a missing subdomain', async () => {
    const bare = podFixture({
      hosts: '10.0.0.9 mypod\n',
      resolvConf: 'nameserver 10.0.0.10\n',
      namespace: 'default',
    });
    try {
      const r = await runCli(
        ['explain', '--completions', '2', '--job-name', 'train', '--subdomain', 's', ...bare.flags],
        { JOB_COMPLETION_INDEX: '1' },
        { hostname: () => 'mypod' },
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/dnsPolicy is not ClusterFirst/);
      expect(r.stdout).toMatch(/hostname "mypod" is not "train-1"/);
      expect(r.stdout).toMatch(/the pod has no subdomain/);
    } finally {
      bare.cleanup();
    }
  });
});

describe('explain exit codes', () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      'index abc',
      ['--completions', '3'],
      { JOB_COMPLETION_INDEX: 'abc' },
      /"abc" from env JOB_COMPLETION_INDEX/,
    ],
    [
      'index -1',
      ['--completions', '3'],
      { JOB_COMPLETION_INDEX: '-1' },
      /"-1" from env JOB_COMPLETION_INDEX/,
    ],
    [
      'index 1.5',
      ['--completions', '3'],
      { JOB_COMPLETION_INDEX: '1.5' },
      /"1\.5" from env JOB_COMPLETION_INDEX/,
    ],
    [
      'index 3 of 3',
      ['--completions', '3'],
      { JOB_COMPLETION_INDEX: '3' },
      /index 3 from env JOB_COMPLETION_INDEX/,
    ],
    [
      'completions 0',
      ['--completions', '0'],
      { JOB_COMPLETION_INDEX: '0' },
      /completions "0" from flag --completions/,
    ],
    [
      'completions 100001',
      [],
      { JOB_COMPLETION_INDEX: '0', PEER_RENDEZVOUS_COMPLETIONS: '100001' },
      /"100001" from env PEER_RENDEZVOUS_COMPLETIONS/,
    ],
    [
      'job name Example_Job',
      ['--completions', '3', '--job-name', 'Example_Job'],
      { JOB_COMPLETION_INDEX: '2' },
      /job name "Example_Job" from flag --job-name/,
    ],
    [
      '64-character hostname',
      ['--completions', '3', '--job-name', 'j'.repeat(62)],
      { JOB_COMPLETION_INDEX: '2' },
      /64 characters long/,
    ],
    ['no completions', [], { JOB_COMPLETION_INDEX: '2' }, /no completions/],
  ];
  it.each(cases)('%s exits 78 with one line naming the value', async (_name, flags, env, message) => {
    const r = await runCli(['explain', ...flags, ...pod.flags], env, host);
    expect(r.code).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('[RDV_ERR_CONFIG]');
  });

  it('exits 64 on an unknown flag and on no command', async () => {
    expect((await runCli(['explain', '--bogus'])).code).toBe(64);
    expect((await runCli([])).code).toBe(64);
    expect((await runCli(['no-such-command'])).code).toBe(64);
  });

  it('exits 64 on a bad choice from an env var', async () => {
    const r = await runCli(['explain'], { PEER_RENDEZVOUS_LOG_FORMAT: 'xml' });
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/xml/);
  });
});

describe('the real binary', () => {
  it('runs explain as a separate process and sets the exit code', () => {
    const ok = runBin(['explain', '--completions', '3', '--hostname', 'example-job-2', ...pod.flags], {
      JOB_COMPLETION_INDEX: '2',
    });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('example-job-0.headless-svc.default.svc.cluster.local.');
    const bad = runBin(['explain', '--completions', '3', '--hostname', 'example-job-2', ...pod.flags], {
      JOB_COMPLETION_INDEX: 'abc',
    });
    expect(bad.code).toBe(78);
    expect(runBin(['--help']).code).toBe(0);
    expect(runBin(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("the bundled yargs reads its translations from inside the package, as yargs' own files did", () => {
    // dist/yargs.cjs looks for <its esm.mjs>/../../../locales; the bundle puts them in dist/yargs/locales.
    const de = runBin(['wait', 'bogus'], { LANG: 'de_DE' });
    expect(de.code).toBe(64);
    expect(de.stderr).toContain('Unbekanntes Argument: bogus');
    expect(runBin(['wait', 'bogus']).stderr).toContain('Unknown argument: bogus');
  });
});
