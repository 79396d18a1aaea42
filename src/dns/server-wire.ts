// The authoritative server's wire format: a strict, allocation-light query parser and a response writer that
// copies the question, points answer owners at it (0xC00C) and truncates to a byte budget (whole records,
// TC=1). Hand-written rather than dns-packet for speed on the hot path; tests check it with dns-packet and dig.

import { ipToBytes } from './ip-bytes.js';
import type { ZoneQueryType, ZoneRecord } from './zone-types.js';

export const TYPE_A = 1;
export const TYPE_NS = 2;
export const TYPE_SOA = 6;
export const TYPE_AAAA = 28;
export const TYPE_SRV = 33;
export const TYPE_OPT = 41;
export const TYPE_IXFR = 251;
export const TYPE_AXFR = 252;
export const TYPE_ANY = 255;
export const CLASS_IN = 1;

/** Query header flags kept in the response. */
const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_CD = 0x0010;

/** UDP payload size the server advertises in its OPT record. */
export const SERVER_UDP_PAYLOAD = 1232;
/** Largest DNS message over TCP. */
export const MAX_TCP_MESSAGE = 65_535;
/** Plain DNS UDP limit (RFC 1035) and the floor for EDNS sizes. */
export const CLASSIC_UDP_LIMIT = 512;

/** EDNS0 data from the query's OPT record. */
export interface EdnsInfo {
  readonly udpPayloadSize: number;
  readonly version: number;
  readonly dnssecOk: boolean;
}

/** A parsed query: the header fields kept in the answer and the single question. */
export interface ParsedQuery {
  readonly id: number;
  readonly opcode: number;
  /** RD and CD bits of the query, copied into the response. */
  readonly echoFlags: number;
  readonly qdcount: number;
  /** End of the question section (12 when there is no question). */
  readonly questionEnd: number;
  /** Lower-case name without the trailing dot; '' for the root. Labels containing '.' make it `ambiguous`. */
  readonly name: string;
  readonly ambiguous: boolean;
  readonly qtype: number;
  readonly qclass: number;
  readonly edns: EdnsInfo | undefined;
}

const scratch = Buffer.allocUnsafe(256);

/**
 * Parse a query message. Returns undefined for anything that must be ignored: too short, a response (QR=1),
 * a question that runs past the end, compression in the question, a name over 255 bytes, a broken
 * additional section. A query with qdcount ≠ 1 parses with `qdcount` set and no name (answer FORMERR).
 */
export function parseQuery(msg: Buffer): ParsedQuery | undefined {
  const length = msg.length;
  if (length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  if ((flags & FLAG_QR) !== 0) return undefined;
  const id = msg.readUInt16BE(0);
  const opcode = (flags >> 11) & 0xf;
  const echoFlags = flags & (FLAG_RD | FLAG_CD);
  const qdcount = msg.readUInt16BE(4);
  if (qdcount !== 1) {
    return {
      id,
      opcode,
      echoFlags,
      qdcount,
      questionEnd: 12,
      name: '',
      ambiguous: false,
      qtype: 0,
      qclass: 0,
      edns: undefined,
    };
  }
  let offset = 12;
  let written = 0;
  let ambiguous = false;
  for (;;) {
    if (offset >= length) return undefined;
    const labelLength = msg[offset]!;
    if (labelLength === 0) {
      offset++;
      break;
    }
    if (labelLength > 63) return undefined;
    if (offset + 1 + labelLength > length || written + labelLength + 1 > 255) return undefined;
    if (written > 0) scratch[written++] = 46;
    for (let i = offset + 1, end = offset + 1 + labelLength; i < end; i++) {
      let c = msg[i]!;
      if (c >= 65 && c <= 90) c += 32;
      else if (c === 46) ambiguous = true;
      scratch[written++] = c;
    }
    offset += 1 + labelLength;
  }
  if (offset + 4 > length) return undefined;
  const qtype = msg.readUInt16BE(offset);
  const qclass = msg.readUInt16BE(offset + 2);
  const questionEnd = offset + 4;
  const name = written === 0 ? '' : scratch.toString('latin1', 0, written);
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  const arcount = msg.readUInt16BE(10);
  let edns: EdnsInfo | undefined;
  if (ancount + nscount + arcount > 0) {
    offset = questionEnd;
    for (let i = 0; i < ancount + nscount + arcount; i++) {
      const nameEnd = skipName(msg, offset);
      if (nameEnd < 0 || nameEnd + 10 > length) return undefined;
      const type = msg.readUInt16BE(nameEnd);
      const rdlength = msg.readUInt16BE(nameEnd + 8);
      if (nameEnd + 10 + rdlength > length) return undefined;
      if (type === TYPE_OPT && i >= ancount + nscount) {
        // Two OPT records, or an OPT whose owner is not the root, is a malformed query (RFC 6891 §6.1.1).
        if (edns !== undefined || nameEnd !== offset + 1) return undefined;
        const ttl = msg.readUInt32BE(nameEnd + 4);
        edns = {
          udpPayloadSize: msg.readUInt16BE(nameEnd + 2),
          version: (ttl >>> 16) & 0xff,
          dnssecOk: (ttl & 0x8000) !== 0,
        };
      }
      offset = nameEnd + 10 + rdlength;
    }
  }
  return { id, opcode, echoFlags, qdcount, questionEnd, name, ambiguous, qtype, qclass, edns };
}

/** Offset after a (possibly compressed) name at `offset`, or -1 when it is malformed. */
function skipName(msg: Buffer, offset: number): number {
  let total = 0;
  for (;;) {
    if (offset >= msg.length) return -1;
    const b = msg[offset]!;
    if (b === 0) return offset + 1;
    if ((b & 0xc0) === 0xc0) return offset + 2 <= msg.length ? offset + 2 : -1;
    if (b > 63) return -1;
    total += b + 1;
    if (total > 255) return -1;
    offset += b + 1;
  }
}

/** The labels of the question name, exactly as sent (for the rare names whose labels contain dots). */
export function questionLabels(msg: Buffer): string[] {
  const labels: string[] = [];
  let offset = 12;
  while (offset < msg.length && msg[offset]! > 0 && msg[offset]! <= 63) {
    labels.push(msg.toString('latin1', offset + 1, offset + 1 + msg[offset]!).toLowerCase());
    offset += 1 + msg[offset]!;
  }
  return labels;
}

/** The model's query type for a wire type number. */
export function zoneQueryType(qtype: number): ZoneQueryType {
  switch (qtype) {
    case TYPE_A:
      return 'A';
    case TYPE_AAAA:
      return 'AAAA';
    case TYPE_SRV:
      return 'SRV';
    case TYPE_SOA:
      return 'SOA';
    case TYPE_NS:
      return 'NS';
    case TYPE_ANY:
      return 'ANY';
    default:
      return 'OTHER';
  }
}

/** A DNS name in wire form (uncompressed). */
export function encodeName(name: string): Buffer {
  if (name === '') return Buffer.from([0]);
  const labels = name.split('.');
  const out = Buffer.allocUnsafe(name.length + 2);
  let offset = 0;
  for (const label of labels) {
    out[offset++] = label.length;
    offset += out.write(label, offset, 'latin1');
  }
  out[offset++] = 0;
  return out.subarray(0, offset);
}

/** Owner pointer to the question name, which always sits at offset 12. */
const OWNER_QUESTION = Buffer.from([0xc0, 0x0c]);

/**
 * One resource record in wire form. `ownerIsQuestion` writes the owner as a pointer to the question name
 * (answers echo the question, case included); otherwise the owner is written out in full.
 */
export function encodeRecord(record: ZoneRecord, ownerIsQuestion: boolean): Buffer {
  const owner = ownerIsQuestion ? OWNER_QUESTION : encodeName(record.name);
  let type: number;
  let rdata: Buffer;
  switch (record.type) {
    case 'A':
    case 'AAAA': {
      const bytes = ipToBytes(record.address);
      if (bytes === undefined) throw new Error(`not an IP address: ${record.address}`);
      type = bytes.length === 4 ? TYPE_A : TYPE_AAAA;
      rdata = Buffer.from(bytes);
      break;
    }
    case 'SRV': {
      type = TYPE_SRV;
      const target = encodeName(record.target);
      rdata = Buffer.allocUnsafe(6 + target.length);
      rdata.writeUInt16BE(record.priority, 0);
      rdata.writeUInt16BE(record.weight, 2);
      rdata.writeUInt16BE(record.port, 4);
      target.copy(rdata, 6);
      break;
    }
    case 'NS':
      type = TYPE_NS;
      rdata = encodeName(record.target);
      break;
    case 'SOA': {
      type = TYPE_SOA;
      const mname = encodeName(record.mname);
      const rname = encodeName(record.rname);
      rdata = Buffer.allocUnsafe(mname.length + rname.length + 20);
      mname.copy(rdata, 0);
      rname.copy(rdata, mname.length);
      let o = mname.length + rname.length;
      for (const n of [record.serial, record.refresh, record.retry, record.expire, record.minimum]) {
        rdata.writeUInt32BE(n >>> 0, o);
        o += 4;
      }
      break;
    }
  }
  const out = Buffer.allocUnsafe(owner.length + 10 + rdata.length);
  owner.copy(out, 0);
  let o = owner.length;
  out.writeUInt16BE(type, o);
  out.writeUInt16BE(CLASS_IN, o + 2);
  out.writeUInt32BE(record.ttl >>> 0, o + 4);
  out.writeUInt16BE(rdata.length, o + 8);
  o += 10;
  rdata.copy(out, o);
  return out;
}

/** A response ready to be written: the sections as encoded records. */
export interface EncodedAnswer {
  readonly rcode: number;
  readonly authoritative: boolean;
  readonly answers: readonly Buffer[];
  readonly authority: readonly Buffer[];
  readonly additional: readonly Buffer[];
}

const NONE: readonly Buffer[] = Object.freeze([]);

/** A response with no records (SERVFAIL, REFUSED, NOTIMP, FORMERR …). */
export function emptyAnswer(rcode: number, authoritative = false): EncodedAnswer {
  return { rcode, authoritative, answers: NONE, authority: NONE, additional: NONE };
}

/** Result of {@link writeResponse}. */
export interface WrittenResponse {
  readonly message: Buffer;
  readonly truncated: boolean;
  readonly answerCount: number;
}

/**
 * Write the response to `query` (whose raw bytes are `msg`) within `limit` bytes of DNS message. Answers are
 * added whole while they fit; when one does not, TC is set and authority and additional are left out
 * (RFC 2181 §9). Authority and additional records are optional extras: added while they fit, no TC.
 * With `lengthPrefix` the message starts with the 2-byte TCP length (not counted in `limit`).
 */
export function writeResponse(
  query: ParsedQuery,
  msg: Buffer,
  answer: EncodedAnswer,
  limit: number,
  lengthPrefix: boolean,
): WrittenResponse {
  const prefix = lengthPrefix ? 2 : 0;
  const questionLength = query.questionEnd - 12;
  const optLength = query.edns === undefined ? 0 : 11;
  let size = 12 + questionLength + optLength;
  let answerCount = 0;
  let truncated = false;
  for (const rr of answer.answers) {
    if (size + rr.length > limit) {
      truncated = true;
      break;
    }
    size += rr.length;
    answerCount++;
  }
  let authorityCount = 0;
  let additionalCount = 0;
  if (!truncated) {
    for (const rr of answer.authority) {
      if (size + rr.length > limit) break;
      size += rr.length;
      authorityCount++;
    }
    for (const rr of answer.additional) {
      if (size + rr.length > limit) break;
      size += rr.length;
      additionalCount++;
    }
  }
  const out = Buffer.allocUnsafe(prefix + size);
  if (lengthPrefix) out.writeUInt16BE(size, 0);
  const rcode = answer.rcode;
  let flags = FLAG_QR | (query.opcode << 11) | query.echoFlags | (rcode & 0xf);
  if (answer.authoritative) flags |= FLAG_AA;
  if (truncated) flags |= FLAG_TC;
  out.writeUInt16BE(query.id, prefix);
  out.writeUInt16BE(flags, prefix + 2);
  out.writeUInt16BE(questionLength > 0 ? 1 : 0, prefix + 4);
  out.writeUInt16BE(answerCount, prefix + 6);
  out.writeUInt16BE(authorityCount, prefix + 8);
  out.writeUInt16BE(additionalCount + (optLength > 0 ? 1 : 0), prefix + 10);
  let o = prefix + 12;
  if (questionLength > 0) o += msg.copy(out, o, 12, query.questionEnd);
  for (let i = 0; i < answerCount; i++) o += answer.answers[i]!.copy(out, o);
  for (let i = 0; i < authorityCount; i++) o += answer.authority[i]!.copy(out, o);
  for (let i = 0; i < additionalCount; i++) o += answer.additional[i]!.copy(out, o);
  if (query.edns !== undefined) {
    // OPT: root owner, our payload size as CLASS, extended rcode / version 0 / DO copied (RFC 3225) as TTL.
    out[o] = 0;
    out.writeUInt16BE(TYPE_OPT, o + 1);
    out.writeUInt16BE(SERVER_UDP_PAYLOAD, o + 3);
    out[o + 5] = rcode >> 4;
    out[o + 6] = 0;
    out.writeUInt16BE(query.edns.dnssecOk ? 0x8000 : 0, o + 7);
    out.writeUInt16BE(0, o + 9);
  }
  return { message: out, truncated, answerCount };
}
