// The client's response reader: dns-packet decodes the message (undefined for anything it cannot decode), and
// this keeps the header bits, the single question and only the record types the classification reads
// (A, AAAA, CNAME, SRV, SOA). Until 2026-12 this was a hand-written parser; dns-packet costs a few µs more per
// answer, which no agent notices (a `star` agent asks a handful of questions) — bench/results.md, "DNS stub
// resolver vs c-ares", has the throughput with dns-packet.
import type { ResponseView, WireRecord } from './client-classify.js';
import { canonicalName, decodePacket } from './packet.js';
import { privateTypeCode, type QueryType } from './types.js';

/** A response as the client reads it: the header bits, the question, and the records of interest. */
export interface ParsedResponse extends ResponseView {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly flag_tc: boolean;
  readonly question: { readonly name: string; readonly type: number; readonly class: number } | undefined;
  readonly questionCount: number;
}

/** Numeric record types the classification reads. */
export const TYPE_CODES = { A: 1, CNAME: 5, SOA: 6, AAAA: 28, SRV: 33 } as const;
type ReadType = keyof typeof TYPE_CODES;

function isReadType(type: string): type is ReadType {
  return Object.hasOwn(TYPE_CODES, type);
}

/** The numeric type of a question as dns-packet decodes it (`UNKNOWN_65280` for types it has no name for). */
function questionTypeCode(type: string): number {
  if (isReadType(type)) return TYPE_CODES[type];
  return type.startsWith('UNKNOWN_') ? Number(type.slice(8)) : -1;
}

/** The numeric type of what we asked. */
export function queryTypeCode(type: QueryType): number {
  return isReadType(type) ? TYPE_CODES[type] : (privateTypeCode(type) ?? -1);
}

/** The record as the classification reads it (SOA: only MINIMUM). */
function wireRecord(answer: { name: string; type: ReadType; ttl?: number; data?: unknown }): WireRecord {
  const { name, type, ttl } = answer;
  if (type === 'SOA')
    return { name, type, ttl, data: { minimum: (answer.data as { minimum: number }).minimum } };
  return { name, type, ttl, data: answer.data };
}

/** Read one response; undefined when it is malformed anywhere (records of other types are skipped). */
export function parseResponse(buf: Buffer): ParsedResponse | undefined {
  const packet = decodePacket(buf);
  if (packet === undefined) return undefined;
  const flags = buf.readUInt16BE(2);
  const q = packet.questions[0];
  const records = (section: readonly { name: string; type: string; ttl?: number; data?: unknown }[]) =>
    section.flatMap((r) => (isReadType(r.type) ? [wireRecord(r as Parameters<typeof wireRecord>[0])] : []));
  return {
    id: packet.id,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    flag_aa: (flags & 0x0400) !== 0,
    flag_tc: (flags & 0x0200) !== 0,
    rcode: packet.rcode,
    question:
      q === undefined
        ? undefined
        : {
            name: q.name,
            type: questionTypeCode(q.type),
            class: q.class === 'IN' ? 1 : -1,
          },
    questionCount: buf.readUInt16BE(4),
    answers: records(packet.answers),
    authorities: records(packet.authorities),
    additionals: records(packet.additionals),
  };
}

/**
 * True when `response` answers exactly our question: QR=1, our ID, opcode QUERY, one question with the same
 * name (case-insensitive), type and class IN.
 */
export function matchesQuestion(
  response: ParsedResponse,
  expected: {
    readonly id: number;
    readonly name: string;
    readonly type: QueryType;
    readonly canonical?: string;
  },
): boolean {
  const q = response.question;
  return (
    response.qr &&
    response.id === expected.id &&
    response.opcode === 0 &&
    response.questionCount === 1 &&
    q !== undefined &&
    q.type === queryTypeCode(expected.type) &&
    q.class === 1 &&
    canonicalName(q.name) === (expected.canonical ?? canonicalName(expected.name))
  );
}
