// The timeout error of a rendezvous: carries every unfinished peer's last state and the hints built from it.
import { RendezvousError } from '../errors.js';
import { formatReport, type PeerReport } from './peer-state.js';

/** `--timeout` passed before every pod was ready. `peers` lists the unfinished ones, `hints` what to check. */
export class RendezvousTimeoutError extends RendezvousError {
  readonly peers: readonly PeerReport[];
  readonly hints: readonly string[];
  readonly waitedMs: number;
  constructor(details: {
    peers: readonly PeerReport[];
    hints: readonly string[];
    waitedMs: number;
    total: number;
    at: number;
  }) {
    const missing = details.peers.length;
    super(
      'RDV_ERR_TIMEOUT',
      `peers not ready after ${(details.waitedMs / 1000).toFixed(1)} s: ${missing} of ${details.total} unfinished`,
    );
    this.peers = details.peers;
    this.hints = details.hints;
    this.waitedMs = details.waitedMs;
    this.report = formatReport(details.peers, details.at);
  }
  /** The table of unfinished peers, one per line. */
  readonly report: string;
}
