// The failure report where the kubelet reads it (/dev/termination-log, `kubectl describe pod`): the timeout table
// and hints, cut to the 4 KiB the kubelet keeps without losing the first line or the hints.
import { accessSync, constants as fsConstants, writeFileSync } from 'node:fs';
import type { RendezvousTimeoutError } from '../rendezvous/errors.js';

/** The table and hints printed when the deadline passes. */
export function timeoutSummary(error: RendezvousTimeoutError): string {
  const lines = [`${error.message} [${error.code}]`, 'unfinished peers:', error.report];
  if (error.hints.length > 0) lines.push('hints:', ...error.hints.map((h) => `  - ${h}`));
  return lines.join('\n');
}

/** The kubelet reads at most this much of the termination log. */
export const TERMINATION_LOG_BYTES = 4096;

/** Errors already in the termination log (with the table and hints): main() does not overwrite them. */
export const terminationLogged = new WeakSet<object>();

/**
 * `text` cut to `max` UTF-8 bytes, keeping what matters most: the first line (the error) and the END (the
 * hints, and the last rows of the table), whole lines, with a line saying how many were left out between.
 * Cutting from the end, as before, lost the hints of a 100-pod job first.
 */
export function fitTerminationLog(text: string, max = TERMINATION_LOG_BYTES): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const lines = text.split('\n');
  const head = lines[0]!;
  const gap = (n: number): string => `... ${n} lines left out ...`;
  // The marker's width with the largest count it can show.
  let budget = max - Buffer.byteLength(`${head}\n${gap(lines.length)}\n`, 'utf8');
  const tail: string[] = [];
  for (let i = lines.length - 1; i > 0; i--) {
    const cost = Buffer.byteLength(lines[i]!, 'utf8') + (tail.length > 0 ? 1 : 0);
    if (cost > budget) break;
    budget -= cost;
    tail.unshift(lines[i]!);
  }
  if (budget < 0) {
    // The first line alone is too long: as much of it as fits, whole characters only.
    let out = '';
    let bytes = 0;
    for (const ch of head) {
      bytes += Buffer.byteLength(ch, 'utf8');
      if (bytes > max) break;
      out += ch;
    }
    return out;
  }
  return [head, gap(lines.length - 1 - tail.length), ...tail].join('\n');
}

/** Write the failure summary where the kubelet reads it, if that file exists and is writable. */
export function writeTerminationLog(path: string, summary: string, error?: unknown): void {
  if (!path) return;
  try {
    accessSync(path, fsConstants.W_OK);
    writeFileSync(path, fitTerminationLog(summary));
    if (typeof error === 'object' && error !== null) terminationLogged.add(error);
  } catch {
    // Not in a pod, or not writable: the summary went to stderr already.
  }
}
