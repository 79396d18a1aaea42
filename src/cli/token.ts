// The shared secret of wait/run/env/sidecar: from a file (a mounted Secret), a flag or the environment, checked.
import { readFileSync } from 'node:fs';
import { ConfigError, quote } from '../errors.js';
import { checkTokenLength } from '../rendezvous/auth.js';
import type { CliContext } from './context.js';
import { originOf } from './options.js';

/**
 * The shared token from --token / PEER_RENDEZVOUS_TOKEN or --token-file / PEER_RENDEZVOUS_TOKEN_FILE (one
 * trailing newline dropped, as `kubectl create secret --from-file` and editors leave one). An empty token,
 * an empty or unreadable file, or both sources at once are configuration errors: no silent "no token".
 */
export function tokenFromArgs(
  ctx: CliContext,
  args: { token?: string | undefined; tokenFile?: string | undefined },
): string | undefined {
  const fromToken = args.token !== undefined ? originOf(ctx, 'token') : undefined;
  if (args.tokenFile !== undefined) {
    const origin = originOf(ctx, 'token-file');
    if (fromToken !== undefined) {
      throw new ConfigError(
        `both ${fromToken} and ${origin} give the token: keep one (--token-file is the one to keep)`,
        { value: args.tokenFile, source: origin },
      );
    }
    const path = args.tokenFile;
    if (path === '')
      throw new ConfigError(`${origin} is empty: expected the path of the token file`, {
        value: '',
        source: origin,
      });
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new ConfigError(`cannot read the token file ${quote(path)} from ${origin}: ${code}`, {
        value: path,
        source: origin,
        cause: error,
      });
    }
    const token = text.replace(/\r?\n$/, '');
    if (token === '') {
      throw new ConfigError(
        `the token file ${quote(path)} from ${origin} is empty: expected the shared secret (e.g. openssl rand -hex 16)`,
        { value: path, source: origin },
      );
    }
    checkTokenLength(token, `the token file ${quote(path)} (${origin})`);
    return token;
  }
  if (args.token === '') {
    throw new ConfigError(
      `the token from ${fromToken} is empty: expected the shared secret (leave it unset for no token)`,
      { value: '', source: fromToken! },
    );
  }
  if (args.token !== undefined) checkTokenLength(args.token, fromToken!);
  return args.token;
}
