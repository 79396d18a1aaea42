// The fast path (run/wait/env without yargs) must read every argument list it takes exactly as the yargs
// parser does, env fallback included, and leave every other list to yargs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/context.js';
import { fastParse } from '../../src/cli/fast-path.js';
import { envNameFor } from '../../src/cli/options.js';
import { buildParser, lastNumberWins } from '../../src/cli/parser.js';
import { runCli } from '../helpers/cli.js';

type Env = Record<string, string>;
type Outcome = { command: string; args: Record<string, unknown> } | { error: string };

/** What the full yargs parser hands the command's handler (argv as main.ts gives it), or the error it throws. */
async function viaYargs(argv: string[], env: Env): Promise<Outcome> {
  const ctx: CliContext = {
    io: { stdout: () => {}, stderr: () => {}, env, isTTY: false },
    argv,
    exitCode: 0,
  };
  let parsed: Outcome | undefined;
  try {
    await buildParser(ctx, (command, args) => {
      parsed = { command, args };
    }).parseAsync(lastNumberWins(argv), {}, () => {}); // as main.ts hands it over
  } catch (error) {
    return { error: (error as Error).message };
  }
  return parsed ?? { error: 'no handler ran' };
}

function viaFastPath(argv: string[], env: Env): Outcome | undefined {
  try {
    return fastParse(argv, env);
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** The fast path's answer, checked against yargs' when it gives one. */
async function agree(argv: string[], env: Env = {}): Promise<Outcome | undefined> {
  const fast = viaFastPath(argv, env);
  if (fast === undefined) return undefined;
  const full = await viaYargs(argv, env);
  if ('error' in fast) {
    expect(full, `yargs on ${JSON.stringify(argv)} ${JSON.stringify(env)}`).toEqual(fast);
    return fast;
  }
  expect('error' in full ? full : full.command, JSON.stringify(argv)).toBe(fast.command);
  const { args } = full as { args: Record<string, unknown> };
  const keys = new Set([...Object.keys(fast.args), ...Object.keys(args)]);
  for (const key of ['_', '$0', '--']) keys.delete(key);
  for (const key of keys) {
    expect(fast.args[key], `${key} of ${JSON.stringify(argv)} ${JSON.stringify(env)}`).toEqual(args[key]);
  }
  return fast;
}

const podArgs = ['--index', '1', '--completions', '4', '--job-name', 'train', '--subdomain', 'workers'];

describe('fast path', () => {
  it.each([
    [['--', 'python', 'train.py'], 'run'],
    [['run', ...podArgs, '--export', 'torch,mpi', '--', 'sh', '-c', 'echo $RANK'], 'run'],
    [['--quiet', '--no-exec', '--verify=mesh', '--port', '29601', '--', 'true'], 'run'],
    [['wait', ...podArgs, '--timeout', '30s', '--log-format', 'json'], 'wait'],
    [['env', '--format', 'json', '--token=s3cret', '--verbose'], 'env'],
    [['wait', '--index', '1', '--index', '2'], 'wait'],
    [
      ['sidecar', ...podArgs, '--export', 'torch', '--export-dir', '/run/x', '--probe-port', '8081'],
      'sidecar',
    ],
  ])('takes %j as %s, with the same arguments as yargs', async (argv, command) => {
    const fast = await agree(argv);
    expect(fast).toMatchObject({ command });
  });

  it('answers --version alone without yargs, byte for byte as yargs does', async () => {
    let output = '';
    const ctx: CliContext = {
      io: { stdout: () => {}, stderr: () => {}, env: {}, isTTY: false },
      argv: ['--version'],
      exitCode: 0,
    };
    await buildParser(ctx).parseAsync(['--version'], {}, (_err, _argv, out) => {
      output = out;
    });
    const r = await runCli(['--version']);
    expect(r).toEqual({ code: 0, stdout: `${output}\n`, stderr: '' });
    expect(output).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('takes options from PEER_RENDEZVOUS_* like the yargs middleware, flags first', async () => {
    const env = {
      [envNameFor('index')]: '3',
      [envNameFor('quiet')]: 'yes',
      [envNameFor('port')]: '40000',
      [envNameFor('log-format')]: 'json',
      [envNameFor('exec')]: 'false',
    };
    const fast = await agree(['--index', '2', '--', 'true'], env);
    expect(fast).toMatchObject({
      command: 'run',
      args: { index: '2', quiet: true, port: 40000, logFormat: 'json', exec: false },
    });
  });

  it('throws the same message as yargs for an env value that is not a boolean or a number', async () => {
    expect(await agree(['wait'], { [envNameFor('quiet')]: 'maybe' })).toEqual({
      error: expect.stringContaining('PEER_RENDEZVOUS_QUIET="maybe" is not a boolean'),
    });
    expect(await agree(['wait'], { [envNameFor('port')]: 'http' })).toEqual({
      error: expect.stringContaining('PEER_RENDEZVOUS_PORT="http" is not a number'),
    });
  });

  it.each([
    [[]],
    [['--help']],
    [['wait', '-h']],
    [['--version']],
    [['explain', '--index', '1']],
    [['resolve', 'a.b.']],
    [['wait', 'extra']],
    [['wait', '--jobName', 'x']],
    [['wait', '--port', 'abc']],
    [['wait', '--port', '0x10']],
    [['wait', '--log-format', 'xml']],
    [['wait', '--index']],
    [['wait', '--index', '-1']],
    [['wait', '--quiet', 'false']],
    [['wait', '--quiet=false']],
    [['wait', '--no-index']],
    [['wait', '--', 'x']],
    [['--unknown', '--', 'true']],
  ])('leaves %j to yargs', (argv) => {
    expect(fastParse(argv, {})).toBeUndefined();
  });

  it('leaves a choice given in the env that is not one of its choices to yargs', () => {
    expect(fastParse(['wait'], { [envNameFor('log-format')]: 'xml' })).toBeUndefined();
  });

  it('agrees with yargs on random argument lists and env (property)', async () => {
    const names = [
      'index',
      'completions',
      'job-name',
      'port',
      'verify',
      'timeout',
      'log-format',
      'quiet',
      'verbose',
      'exec',
      'format',
      'export',
      'dns-server',
      'token',
      'help',
      'version',
      'nope',
    ];
    const values = ['', '0', '1', '29600', '007', '-1', '1e3', '0x10', 'abc', 'a b', 'json', 'text', 'shell'];
    const moreValues = [...values, 'true', 'false', '--x', '-q', 'yes', 'off', '65536', ' 7 '];
    const token = fc.oneof(
      fc.tuple(fc.constantFrom(...names), fc.constantFrom(...moreValues)).map(([n, v]) => [`--${n}`, v]),
      fc.tuple(fc.constantFrom(...names), fc.constantFrom(...values)).map(([n, v]) => [`--${n}=${v}`]),
      fc.constantFrom(...names).map((n) => [`--${n}`]),
      fc.constantFrom(...names).map((n) => [`--no-${n}`]),
      fc.constantFrom(['-h'], ['extra'], ['--jobName', 'x'], ['-q']),
    );
    const argv = fc
      .tuple(
        fc.constantFrom([], ['run'], ['wait'], ['env'], ['sidecar'], ['explain']),
        fc.array(token, { maxLength: 6 }),
        fc.constantFrom([], ['--'], ['--', 'sh', '-c', 'true']),
      )
      .map(([head, tokens, tail]) => [...head, ...tokens.flat(), ...tail]);
    const env = fc.dictionary(
      fc.constantFrom(...names.map(envNameFor)),
      fc.constantFrom(...values, 'yes', 'off', 'maybe'),
      { maxKeys: 3 },
    );
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(argv, env, async (a, e) => {
        if ((await agree(a, e)) !== undefined) taken++;
      }),
      { numRuns: 1000 },
    );
    // The property means something only if the fast path takes a fair share of the lists.
    expect(taken).toBeGreaterThan(20);
  });
});

describe('lastNumberWins (yargs-parser adds a repeated number option whose value is 1 to the one before)', () => {
  it.each([
    [['--port=3', '--port=1'], ['--port=1']],
    [
      ['wait', '--port', '1', '--port', '1', '--', 'x', '--port=9'],
      ['wait', '--port', '1', '--', 'x', '--port=9'],
    ],
    [
      ['simulate', '-n', '3', '--pods=1', '--', 'true'],
      ['simulate', '--pods=1', '--', 'true'],
    ],
    [
      ['sidecar', '--probe-port=8081', '--port=2', '--probe-port', '1'],
      ['sidecar', '--port=2', '--probe-port', '1'],
    ],
    [
      ['--port', '--port', '1'],
      ['--port', '--port', '1'],
    ],
    [
      ['--port=1', '--timeout', '1', '--timeout', '2'],
      ['--port=1', '--timeout', '1', '--timeout', '2'],
    ],
  ])('%j → %j', (argv, want) => {
    expect(lastNumberWins(argv)).toEqual(want);
  });

  it.each([
    [['wait', '--port=3', '--port=1'], 1],
    [['wait', '--port', '1', '--port', '1'], 1],
    [['wait', '--port=1', '--port=1', '--port=1'], 1],
  ])('yargs then reads %j as the fast path does: port %d', async (argv, port) => {
    const got = await agree(argv);
    expect(got && 'args' in got ? got.args.port : got).toBe(port);
  });
});
