// What the simulation prints: pod output prefixed with the pod name (coloured on a TTY), `sim` lines for
// faults and milestones, a live status line on a TTY, and the summary table at the end. With
// `--log-format json` every line is one JSON object instead: pod lines carry `pod` and `stream` (an agent's
// own JSON log line is merged in), simulation lines `source: "sim"`, the summary a `pods` array.
import { formatMs } from '../duration.js';

/** Where and how to print. */
export interface OutputSink {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Colours and the live status line (stderr is a terminal). */
  readonly tty: boolean;
  /** Print milestones (records published) too, not only faults. */
  readonly verbose: boolean;
  /** No banner, fault lines or status line: only the pods' own output and the summary. */
  readonly quiet: boolean;
  /** One JSON object a line (no colours, no status line). */
  readonly json?: boolean | undefined;
}

/** A simulation line as JSON: what `--log-format json` prints for the banner, events and the summary. */
export function simJson(msg: string, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ time: new Date().toISOString(), level: 'info', source: 'sim', msg, ...extra })}\n`;
}

/** One row of the summary. */
export interface PodSummary {
  readonly hostname: string;
  readonly address: string;
  /** ms after the start when its workload started (or `wait` succeeded); undefined if never. */
  readonly releasedAtMs: number | undefined;
  /** Exit code (128+n for a signal), undefined while running. */
  readonly exitCode: number | undefined;
  /** A note: killed by a fault, restarted, … */
  readonly note: string;
}

const COLOURS = [36, 33, 35, 32, 34, 91, 96, 93, 95, 92, 94];
const STATUS_EVERY_MS = 250;

/** Prints the simulation's output; `close()` stops the status line. */
export class SimulationOutput {
  readonly #sink: OutputSink;
  readonly #width: number;
  #status: (() => string) | undefined;
  #statusShown = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(sink: OutputSink, podNames: readonly string[]) {
    this.#sink = sink;
    this.#width = Math.max(3, ...podNames.map((n) => n.length));
  }

  /** A line a pod wrote. */
  podLine(index: number, hostname: string, stream: 'stdout' | 'stderr', line: string): void {
    if (this.#sink.json) {
      this.#write(stream, `${JSON.stringify({ pod: hostname, stream, ...jsonObject(line) })}\n`);
      return;
    }
    const name = hostname.padEnd(this.#width);
    const prefix = this.#sink.tty
      ? `\x1b[${COLOURS[index % COLOURS.length]}m${name}\x1b[0m │ `
      : `${name} | `;
    this.#write(stream, `${prefix}${line}\n`);
  }

  /** A simulation event (a fault firing); `milestone` ones only with --verbose. */
  event(atMs: number, text: string, milestone = false): void {
    if (this.#sink.quiet || (milestone && !this.#sink.verbose)) return;
    if (this.#sink.json) {
      this.#write('stderr', simJson(text, { atMs: Math.round(atMs) }));
      return;
    }
    const name = 'sim'.padEnd(this.#width);
    const when = `[${(atMs / 1000).toFixed(2)} s]`;
    const prefix = this.#sink.tty ? `\x1b[1m${name}\x1b[0m │ ` : `${name} | `;
    this.#write('stderr', `${prefix}${when} ${text}\n`);
  }

  /** Keep a live status line on a TTY, redrawn every 250 ms from `render`. */
  startStatus(render: () => string): void {
    if (!this.#sink.tty || this.#sink.quiet || this.#sink.json) return;
    this.#status = render;
    this.#timer = setInterval(() => this.#drawStatus(), STATUS_EVERY_MS);
    this.#timer.unref();
    this.#drawStatus();
  }

  /** Remove the status line for good. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clearStatus();
    this.#status = undefined;
  }

  /** The summary table (on stderr, so a workload's stdout stays clean). */
  summary(rows: readonly PodSummary[], footer: readonly string[]): void {
    this.close();
    if (this.#sink.json) {
      const pods = rows.map((r) => ({
        pod: r.hostname,
        address: r.address,
        releasedAfterMs: r.releasedAtMs === undefined ? null : Math.round(r.releasedAtMs),
        exitCode: r.exitCode ?? null,
        note: r.note,
      }));
      this.#sink.stderr(simJson(footer.join('; '), { pods }));
      return;
    }
    const table = [['pod', 'address', 'released after', 'exit', '']];
    for (const r of rows) {
      table.push([
        r.hostname,
        r.address,
        r.releasedAtMs === undefined ? '-' : formatMs(r.releasedAtMs),
        r.exitCode === undefined ? '-' : String(r.exitCode),
        r.note,
      ]);
    }
    const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
    const lines = table.map((row) =>
      row
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    );
    this.#sink.stderr(`\n${lines.join('\n')}\n${footer.map((f) => `${f}\n`).join('')}`);
  }

  #write(stream: 'stdout' | 'stderr', text: string): void {
    this.#clearStatus();
    this.#sink[stream](text);
    this.#drawStatus();
  }

  #clearStatus(): void {
    if (!this.#statusShown) return;
    this.#sink.stderr('\r\x1b[K');
    this.#statusShown = false;
  }

  #drawStatus(): void {
    if (this.#status === undefined) return;
    const cols = Number(process.stderr.columns) || 100;
    this.#sink.stderr(`\r\x1b[K\x1b[2m${this.#status().slice(0, cols - 1)}\x1b[0m`);
    this.#statusShown = true;
  }
}

/** A line's fields: the line itself when it is a JSON object (an agent's `--log-format json`), else `{ time, line }`. */
function jsonObject(line: string): Record<string, unknown> {
  if (line.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        return parsed as Record<string, unknown>;
      }
    } catch {
      // Not JSON after all: a workload's own line.
    }
  }
  return { time: new Date().toISOString(), line };
}
