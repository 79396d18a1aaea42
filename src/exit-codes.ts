// The one place errors become exit codes (documented in README.md, "Exit codes").
import { RendezvousError } from './errors.js';
import { exitCodeForSignal } from './signals.js';

export const EXIT_OK = 0;
export const EXIT_USAGE = 64; // EX_USAGE
export const EXIT_CONFIG = 78; // EX_CONFIG
export const EXIT_TIMEOUT = 124; // as timeout(1)
export const EXIT_NOT_EXECUTABLE = 126; // as POSIX shells
export const EXIT_NOT_FOUND = 127; // as POSIX shells
export const EXIT_SOFTWARE = 70; // EX_SOFTWARE: a bug or an error we did not classify
// EX_TEMPFAIL: the job was released without this pod (a replacement after the one-shot barrier). Not 124 (the
// peers did come, and left), not 78 (nothing is misconfigured in this pod): the job as a whole can be run again.
export const EXIT_RELEASED = 75;

/** Map any thrown value to the documented exit code. */
export function exitCodeFor(error: unknown): number {
  if (!(error instanceof RendezvousError)) return EXIT_SOFTWARE;
  switch (error.code) {
    case 'RDV_ERR_USAGE':
      return EXIT_USAGE;
    case 'RDV_ERR_CONFIG':
    case 'RDV_ERR_UNSUPPORTED':
      return EXIT_CONFIG;
    case 'RDV_ERR_TIMEOUT':
    case 'RDV_ERR_DNS_TIMEOUT':
      return EXIT_TIMEOUT;
    case 'RDV_ERR_COMMAND_NOT_EXECUTABLE':
      return EXIT_NOT_EXECUTABLE;
    case 'RDV_ERR_COMMAND_NOT_FOUND':
      return EXIT_NOT_FOUND;
    case 'RDV_ERR_ABORTED': {
      const signal = (error as { signal?: NodeJS.Signals }).signal;
      return signal === undefined ? EXIT_SOFTWARE : exitCodeForSignal(signal);
    }
    case 'RDV_ERR_RELEASED':
      return EXIT_RELEASED;
    case 'RDV_ERR_DNS':
    case 'RDV_ERR_PROTOCOL':
      return EXIT_SOFTWARE;
  }
}
