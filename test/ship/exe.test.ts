import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { podFixture, SEED_HOSTS, SEED_RESOLV } from '../helpers/pod-fixture.js';
import { listeningPorts, until } from '../helpers/proc.js';
import { checkDocuments } from '../manifest/check-manifest.js';
import { buildExeFixture, type ExeFixture, ROOT } from './exe-fixture.js';

const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

let fx: ExeFixture;
const pod = podFixture({ hosts: SEED_HOSTS, resolvConf: SEED_RESOLV });
const scratch = mkdtempSync(join(tmpdir(), 'rdv-exe-scratch-'));

beforeAll(() => {
  fx = buildExeFixture();
}, 240_000);
afterAll(() => {
  fx?.cleanup();
  pod.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the executable in its empty directory with exactly PATH (node-free) and `env`. */
function runExe(argv: readonly string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(fx.exe, [...argv], {
    cwd: fx.dir,
    env: { PATH: fx.path, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/**
 * One row per behaviour the executable must have without Node: argv, env, expected exit code and output.
 * Add rows here as commands land (wait, run `-- cmd`, simulate).
 */
interface Row {
  readonly name: string;
  readonly argv: () => string[];
  readonly env?: Record<string, string>;
  readonly code: number;
  readonly stdout?: RegExp;
  readonly stderr?: RegExp;
  readonly check?: (r: Run) => void;
}

const seedExplain = () => ['explain', '--hostname', 'example-job-2', '--completions', '3', ...pod.flags];

const rows: Row[] = [
  {
    name: '--version prints the package version',
    argv: () => ['--version'],
    code: 0,
    stdout: new RegExp(`^${VERSION}\\n$`),
  },
  {
    name: '--help lists the commands',
    argv: () => ['--help'],
    code: 0,
    stdout: /explain.*\n(.*\n)*.*manifest/,
  },
  {
    name: 'explain on the seed pod files',
    argv: seedExplain,
    env: { JOB_COMPLETION_INDEX: '2' },
    code: 0,
    stdout:
      /index\s+2\s+env JOB_COMPLETION_INDEX[\s\S]*example-job-0\.headless-svc\.default\.svc\.cluster\.local\./,
  },
  {
    name: 'explain --log-format json',
    argv: () => [...seedExplain(), '--log-format', 'json'],
    env: { JOB_COMPLETION_INDEX: '2' },
    code: 0,
    check: (r) =>
      expect(JSON.parse(r.stdout).self).toBe('example-job-2.headless-svc.default.svc.cluster.local.'),
  },
  {
    name: 'a bad index is a configuration error (78)',
    argv: seedExplain,
    env: { JOB_COMPLETION_INDEX: 'x' },
    code: 78,
    stderr: /JOB_COMPLETION_INDEX.*"x"|"x".*JOB_COMPLETION_INDEX/,
  },
  {
    name: 'an unknown option is a usage error (64)',
    argv: () => ['explain', '--bogus'],
    code: 64,
    stderr: /bogus/,
  },
  {
    name: 'manifest for the seed example',
    argv: () => [
      'manifest',
      '--name',
      'example-job',
      '--completions',
      '3',
      '--image',
      'bash:latest',
      '--',
      'bash',
      '-c',
      'echo hi',
    ],
    code: 0,
    check: (r) => checkDocuments(parseAllDocuments(r.stdout).map((d) => d.toJS())),
  },
  {
    name: 'install copies itself (0755, identical bytes) and the copy runs',
    argv: () => ['install', join(scratch, 'shared')],
    code: 0,
    stdout: /installed .*shared\/peer-rendezvous/,
    check: () => {
      const copy = join(scratch, 'shared', 'peer-rendezvous');
      expect(statSync(copy).mode & 0o777).toBe(0o755);
      expect(readFileSync(copy).equals(readFileSync(fx.exe))).toBe(true);
      const again = spawnSync(copy, ['--version'], { env: { PATH: fx.path }, encoding: 'utf8' });
      expect(again.stdout).toBe(`${VERSION}\n`);
    },
  },
  {
    name: 'simulate runs 3 pods, each `run -- <cmd>` exec-ing the workload with the exports',
    argv: () => ['simulate', '-n', '3', '--', 'sh', '-c', 'echo "pod $PEER_INDEX of $PEER_COUNT"'],
    code: 0,
    check: (r) => {
      for (const i of [0, 1, 2]) expect(r.stdout).toContain(`example-job-${i} | pod ${i} of 3`);
      expect(r.stderr).toMatch(/3\/3 released, 3\/3 exited 0/);
    },
  },
  {
    name: 'simulate without a command runs `wait` in every pod',
    argv: () => ['simulate', '-n', '2'],
    code: 0,
    stderr: /2\/2 released/,
  },
  {
    name: "simulate passes on a workload's exit code",
    argv: () => ['simulate', '-n', '2', '--', 'sh', '-c', 'exit 3'],
    code: 3,
  },
];

describe('the single executable, in an empty directory with no node on PATH', () => {
  it('has no node on that PATH', () => {
    const r = spawnSync('/bin/sh', ['-c', 'command -v node'], { env: { PATH: fx.path }, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(spawnSync('/bin/sh', ['-c', 'command -v sh'], { env: { PATH: fx.path } }).status).toBe(0);
  });

  it('is one executable file of an ELF Node 24 with the blob injected', () => {
    const st = statSync(fx.exe);
    expect(st.mode & 0o111).not.toBe(0);
    const head = Buffer.alloc(4);
    readFileSync(fx.exe).copy(head, 0, 0, 4);
    expect(head.toString('latin1')).toBe('\x7fELF');
    expect(fx.buildOutput).toMatch(new RegExp(`Node v24\\.[0-9.]+.*reports version ${VERSION}`));
  });

  for (const row of rows) {
    it(row.name, () => {
      const r = runExe(row.argv(), row.env);
      expect(r.code, `stderr: ${r.stderr}`).toBe(row.code);
      if (row.stdout) expect(r.stdout).toMatch(row.stdout);
      if (row.stderr) expect(r.stderr).toMatch(row.stderr);
      expect(r.stderr).not.toMatch(/ExperimentalWarning|single-executable/i);
      row.check?.(r);
    });
  }

  it('opens no inspector on SIGUSR1: `resolve` goes on to its own end, a waiting agent reports', async () => {
    const silent = createSocket('udp4');
    let questions = 0;
    silent.on('message', () => {
      questions++;
    });
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const dns = `127.0.0.1:${silent.address().port}`;
    const start = (argv: string[]) => {
      const child = spawn(fx.exe, argv, {
        cwd: fx.dir,
        env: { PATH: fx.path },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('close', (code, signal) => {
          clearTimeout(kill);
          resolve({ code, signal });
        }),
      );
      return { child, done, stderr: () => stderr };
    };
    try {
      // Any command: Node's default would open the inspector on 127.0.0.1:9229 (the npm bin did, before).
      const q = start(['resolve', 'a.example.', '--dns-server', dns, '--timeout', '2s']);
      await until('the question at the silent server', () => questions > 0);
      q.child.kill('SIGUSR1');
      await new Promise((r) => setTimeout(r, 200));
      expect(listeningPorts(q.child.pid!)).not.toContain(9229);
      const ended = await q.done;
      expect(ended.code).toBe(124);
      expect(q.stderr()).not.toMatch(/Debugger listening/);
      // A waiting agent handles SIGUSR1: the progress line now, no listener on 9229, still waiting.
      const w = start([
        'wait',
        ...['--index', '1', '--completions', '2', '--job-name', 'j', '--subdomain', 's', '--namespace', 'n'],
        ...['--hostname', 'j-1', '--hosts-file', '/nonexistent', '--resolv-conf', '/nonexistent'],
        ...['--namespace-file', '/nonexistent', '--listen', '127.56.0.2', '--dns-server', dns],
        ...['--progress-interval', '0', '--timeout', '15s'],
      ]);
      await until('the first line', () => /index 1 of 2/.test(w.stderr()));
      w.child.kill('SIGUSR1');
      await until('the waiting line', () => /peer-rendezvous: waiting/.test(w.stderr()));
      expect(listeningPorts(w.child.pid!)).not.toContain(9229);
      expect(w.child.exitCode).toBeNull();
      w.child.kill('SIGTERM');
      expect((await w.done).code).toBe(143);
    } finally {
      silent.close();
    }
  });
});
