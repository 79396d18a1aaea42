// The fast path: `run`, `wait`, `env` and `sidecar` (what a pod runs on every start) parsed without loading yargs.
// Loading and initialising yargs costs more than the rest of the agent's start-up together (bench/results.md,
// "exec: … start-up time"), and a pod's start-up delays every peer's release. This parser reads the same
// option tables as the yargs commands and takes only argument lists it reads exactly as yargs would: any
// token it is not sure about (help, --version, short or camelCase flags, positionals, a value that looks like
// a flag, a bad number or choice) returns undefined and the invocation goes to the full yargs parser, which
// also writes every usage message. test/cli/fast-path.test.ts checks the two parsers agree.
import type { Options } from 'yargs';
import { envOptions } from './commands/env.js';
import { runOptions } from './commands/run.js';
import { sidecarOptions } from './commands/sidecar.js';
import { camel, ENV_PREFIX, envNameFor, envValue, outputOptions } from './options.js';
import { rendezvousOptions } from './rendezvous-options.js';

/** The commands the fast path takes, each with every option it has (the global ones included). */
const TABLES = {
  run: { ...outputOptions, ...runOptions },
  wait: { ...outputOptions, ...rendezvousOptions },
  env: { ...outputOptions, ...envOptions },
  // A sidecar starts with its pod too: its start-up delays the release like a wrapper's.
  sidecar: { ...outputOptions, ...sidecarOptions },
} satisfies Record<string, Record<string, Options>>;

export type FastCommand = keyof typeof TABLES;

const ENV_NAMES = new Map<FastCommand, ReadonlySet<string>>();

/** The PEER_RENDEZVOUS_* names `command` reads. */
function envNamesOf(command: FastCommand): ReadonlySet<string> {
  let names = ENV_NAMES.get(command);
  if (names === undefined) {
    names = new Set(Object.keys(TABLES[command]).map(envNameFor));
    ENV_NAMES.set(command, names);
  }
  return names;
}

/** A parsed invocation: the command and its arguments, keyed both `job-name` and `jobName` as yargs does. */
export interface FastInvocation {
  command: FastCommand;
  args: Record<string, unknown>;
}

/** Kebab-case option names only: camelCase and dotted forms mean more to yargs than to this parser. */
const PLAIN_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
/** Numbers exactly as yargs reads them for the only number option (a port): plain decimal integers. */
const PLAIN_INTEGER = /^(?:0|[1-9][0-9]{0,8})$/;

/**
 * Parse `argv` (and the `PEER_RENDEZVOUS_*` variables of `env`) for run/wait/env, or return undefined when
 * the full parser must decide. Throws the same UsageError as the yargs env middleware for bad env values.
 */
export function fastParse(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): FastInvocation | undefined {
  const dashes = argv.indexOf('--');
  const head = dashes < 0 ? argv : argv.slice(0, dashes);
  let command: FastCommand;
  let i = 0;
  const first = head[0];
  if (first === 'run' || first === 'wait' || first === 'env' || first === 'sidecar') {
    command = first;
    i = 1;
  } else if (first === undefined ? dashes >= 0 : first.startsWith('--')) {
    command = 'run'; // the default command: `peer-rendezvous [options] -- <command>`
  } else {
    return undefined;
  }
  // Only `run` takes words after `--`; what the others do with them is the full parser's business.
  if (command !== 'run' && dashes >= 0) return undefined;
  const table: Record<string, Options> = TABLES[command];
  // A PEER_RENDEZVOUS_* name this command does not read: yargs knows every command's options and decides
  // (another command's setting is fine, a misspelt one is an error with a "did you mean").
  for (const name of Object.keys(env)) {
    if (name.startsWith(ENV_PREFIX) && env[name] !== undefined && !envNamesOf(command).has(name))
      return undefined;
  }
  const given = new Map<string, unknown>();
  for (; i < head.length; i++) {
    const token = head[i]!;
    if (!token.startsWith('--')) return undefined;
    const eq = token.indexOf('=');
    const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
    if (!PLAIN_NAME.test(name)) return undefined;
    const option = Object.hasOwn(table, name) ? table[name] : undefined;
    if (option === undefined) {
      const base = name.slice(3);
      const negated = name.startsWith('no-') && Object.hasOwn(table, base) ? table[base] : undefined;
      if (eq >= 0 || negated?.type !== 'boolean') return undefined;
      given.set(name.slice(3), false);
      continue;
    }
    if (option.type === 'boolean') {
      const next = head[i + 1];
      if (eq >= 0 || next === 'true' || next === 'false') return undefined;
      given.set(name, true);
      continue;
    }
    let value: string;
    if (eq >= 0) value = token.slice(eq + 1);
    else {
      const next = head[i + 1];
      if (next === undefined || next.startsWith('-')) return undefined;
      value = next;
      i++;
    }
    if (option.type === 'number') {
      if (!PLAIN_INTEGER.test(value)) return undefined;
      given.set(name, Number(value));
    } else if (option.choices !== undefined && !option.choices.includes(value)) {
      return undefined;
    } else {
      given.set(name, value);
    }
  }
  const args: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(table)) {
    let value: unknown;
    if (given.has(key)) value = given.get(key);
    else {
      const name = envNameFor(key);
      const raw = env[name];
      if (raw !== undefined) {
        value = envValue(
          name,
          raw,
          option.type === 'boolean' || option.type === 'number' ? option.type : 'string',
        );
        if (option.choices !== undefined && !option.choices.includes(value as string)) return undefined;
      } else value = option.default;
    }
    if (value === undefined) continue;
    args[key] = value;
    args[camel(key)] = value;
  }
  return { command, args };
}
