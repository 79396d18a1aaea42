// The client's hot-path response reader: header, the single question, and only the record types the
// classification reads (A, AAAA, CNAME, SRV, SOA), without dns-packet's allocations. It returns undefined for
// anything malformed. Property tests check it against dns-packet's decoder on valid and mutated packets.
import type { ResponseView, WireRecord } from './client-classify.js';
import { canonicalName, HEADER_BYTES } from './packet.js';
import type { QueryType } from './types.js';

/** A response as the client reads it: the header bits, the question, and the records of interest. */
export interface ParsedResponse extends ResponseView {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly flag_tc: boolean;
  readonly question: { readonly name: string; readonly type: number; readonly class: number } | undefined;
  readonly questionCount: number;
}

const RCODE_NAMES = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];
/** Numeric record types the classification reads. */
export const TYPE_CODES = { A: 1, CNAME: 5, SOA: 6, AAAA: 28, SRV: 33 } as const;
const TYPE_NAMES: Record<number, string> = { 1: 'A', 5: 'CNAME', 6: 'SOA', 28: 'AAAA', 33: 'SRV' };
const MAX_NAME_BYTES = 255;
const MAX_POINTER_HOPS = 64;

class Malformed extends Error {}

/** Read one response; undefined when it is malformed anywhere (records of other types are skipped). */
export function parseResponse(buf: Buffer): ParsedResponse | undefined {
  try {
    return parse(buf);
  } catch (error) {
    if (error instanceof Malformed || error instanceof RangeError) return undefined;
    throw error;
  }
}

function parse(buf: Buffer): ParsedResponse {
  if (buf.length < HEADER_BYTES) throw new Malformed();
  const flags = buf.readUInt16BE(2);
  const qdcount = buf.readUInt16BE(4);
  const counts = [buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)] as const;
  let offset = HEADER_BYTES;
  let question: ParsedResponse['question'];
  let atHeaderEnd: string | undefined; // the question name: most owner names point back to it
  for (let i = 0; i < qdcount; i++) {
    const [name, next] = readName(buf, offset);
    if (i === 0) atHeaderEnd = name;
    if (next + 4 > buf.length) throw new Malformed();
    if (i === 0) question = { name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) };
    offset = next + 4;
  }
  const sections: WireRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    const out = sections[s]!;
    for (let i = 0; i < counts[s]!; i++) {
      const [name, next] =
        atHeaderEnd !== undefined && buf[offset] === 0xc0 && buf[offset + 1] === HEADER_BYTES
          ? [atHeaderEnd, offset + 2]
          : readName(buf, offset);
      if (next + 10 > buf.length) throw new Malformed();
      const type = buf.readUInt16BE(next);
      const ttl = buf.readUInt32BE(next + 4);
      const rdlength = buf.readUInt16BE(next + 8);
      const rdata = next + 10;
      const end = rdata + rdlength;
      if (end > buf.length) throw new Malformed();
      const record = readRecord(buf, name, type, ttl, rdata, end);
      if (record !== undefined) out.push(record);
      offset = end;
    }
  }
  const rcode = flags & 0xf;
  return {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    flag_aa: (flags & 0x0400) !== 0,
    flag_tc: (flags & 0x0200) !== 0,
    rcode: RCODE_NAMES[rcode] ?? `RCODE_${rcode}`,
    question,
    questionCount: qdcount,
    answers: sections[0]!,
    authorities: sections[1]!,
    additionals: sections[2]!,
  };
}

function readRecord(
  buf: Buffer,
  name: string,
  type: number,
  ttl: number,
  rdata: number,
  end: number,
): WireRecord | undefined {
  const typeName = TYPE_NAMES[type];
  if (typeName === undefined) return undefined;
  switch (type) {
    case TYPE_CODES.A:
      if (end - rdata !== 4) throw new Malformed();
      return {
        name,
        type: typeName,
        ttl,
        data: `${buf[rdata]}.${buf[rdata + 1]}.${buf[rdata + 2]}.${buf[rdata + 3]}`,
      };
    case TYPE_CODES.AAAA:
      if (end - rdata !== 16) throw new Malformed();
      return { name, type: typeName, ttl, data: formatIpv6(buf, rdata) };
    case TYPE_CODES.CNAME: {
      const [target] = readName(buf, rdata, end);
      return { name, type: typeName, ttl, data: target };
    }
    case TYPE_CODES.SRV: {
      if (end - rdata < 7) throw new Malformed();
      const [target] = readName(buf, rdata + 6, end);
      return {
        name,
        type: typeName,
        ttl,
        data: {
          priority: buf.readUInt16BE(rdata),
          weight: buf.readUInt16BE(rdata + 2),
          port: buf.readUInt16BE(rdata + 4),
          target,
        },
      };
    }
    default: {
      // SOA: two names, then five 32-bit numbers; MINIMUM is the last.
      const [, afterMname] = readName(buf, rdata, end);
      const [, afterRname] = readName(buf, afterMname, end);
      if (afterRname + 20 > end) throw new Malformed();
      return { name, type: typeName, ttl, data: { minimum: buf.readUInt32BE(afterRname + 16) } };
    }
  }
}

/** Read a possibly compressed name at `offset`; returns it (no trailing dot, '.' for the root) and the end. */
function readName(buf: Buffer, offset: number, limit: number = buf.length): [string, number] {
  let name = '';
  let length = 0;
  let end = -1;
  let hops = 0;
  for (;;) {
    if (offset >= limit && end === -1) throw new Malformed();
    if (offset >= buf.length) throw new Malformed();
    const len = buf[offset]!;
    if (len === 0) {
      if (end === -1) end = offset + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (offset + 1 >= buf.length || (end === -1 && offset + 1 >= limit)) throw new Malformed();
      const pointer = ((len & 0x3f) << 8) | buf[offset + 1]!;
      if (end === -1) end = offset + 2;
      if (++hops > MAX_POINTER_HOPS || pointer >= offset) throw new Malformed();
      offset = pointer;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new Malformed();
    if (offset + 1 + len > buf.length || (end === -1 && offset + 1 + len > limit)) throw new Malformed();
    length += len + 1;
    if (length > MAX_NAME_BYTES) throw new Malformed();
    const label = buf.toString('utf8', offset + 1, offset + 1 + len);
    name = name === '' ? label : `${name}.${label}`;
    offset += len + 1;
  }
  return [name === '' ? '.' : name, end];
}

/** IPv6 text exactly as dns-packet (ip-codec) prints it, so both decoders agree. */
function formatIpv6(buf: Buffer, at: number): string {
  let text = '';
  for (let i = 0; i < 16; i += 2) {
    if (i !== 0) text += ':';
    text += ((buf[at + i]! << 8) | buf[at + i + 1]!).toString(16);
  }
  return text.replace(/(^|:)0(:0)*:0(:|$)/, '$1::$3').replace(/:{3,4}/, '::');
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
    q.type === TYPE_CODES[expected.type] &&
    q.class === 1 &&
    canonicalName(q.name) === (expected.canonical ?? canonicalName(expected.name))
  );
}
