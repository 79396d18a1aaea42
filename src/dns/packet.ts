// Typed, non-throwing wrapper around dns-packet: decode that returns undefined on junk, queries with EDNS0,
// rcode/opcode typings the @types package lacks, and the raw-header checks the client runs before decoding.
import dnsPacket from 'dns-packet';
import { privateTypeCode, type QueryType, RCODE } from './types.js';

/** Header rcodes as dns-packet names them. */
export type Rcode =
  | 'NOERROR'
  | 'FORMERR'
  | 'SERVFAIL'
  | 'NXDOMAIN'
  | 'NOTIMP'
  | 'REFUSED'
  | 'YXDOMAIN'
  | 'YXRRSET'
  | 'NXRRSET'
  | 'NOTAUTH'
  | 'NOTZONE'
  | `RCODE_${number}`;

/** Header opcodes as dns-packet names them. */
export type Opcode = 'QUERY' | 'IQUERY' | 'STATUS' | 'NOTIFY' | 'UPDATE' | `OPCODE_${number}`;

/** A decoded packet with the fields dns-packet sets but its typings omit. */
export interface DecodedDnsPacket extends dnsPacket.DecodedPacket {
  readonly id: number;
  readonly type: 'query' | 'response';
  readonly rcode: Rcode;
  readonly opcode: Opcode;
  readonly questions: dnsPacket.Question[];
  readonly answers: dnsPacket.Answer[];
  readonly authorities: dnsPacket.Answer[];
  readonly additionals: dnsPacket.Answer[];
}

/** DNS header length in bytes. */
export const HEADER_BYTES = 12;
/** Largest DNS message (TCP length prefix is 16 bits). */
export const MAX_MESSAGE_BYTES = 65_535;
/** The EDNS0 UDP payload size of DNS Flag Day 2020. */
export const DEFAULT_UDP_PAYLOAD_SIZE = 1232;

/** Decode a DNS message; `undefined` for anything dns-packet cannot decode (it throws on malformed input). */
export function decodePacket(buf: Uint8Array): DecodedDnsPacket | undefined {
  if (buf.byteLength < HEADER_BYTES) return undefined;
  try {
    const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    return dnsPacket.decode(b) as DecodedDnsPacket;
  } catch {
    return undefined;
  }
}

/** The EDNS0 OPT pseudo-record advertising `udpPayloadSize` (dns-packet's typings demand every field). */
export function ednsOpt(udpPayloadSize: number = DEFAULT_UDP_PAYLOAD_SIZE): dnsPacket.OptAnswer {
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

/** The type as dns-packet names it: a private-use `TYPE65280` is its `UNKNOWN_65280`. */
export function wireTypeName(type: QueryType): dnsPacket.RecordType {
  const code = privateTypeCode(type);
  return (code === undefined ? type : `UNKNOWN_${code}`) as dnsPacket.RecordType;
}

/**
 * Encode a recursion-desired query for one question, with EDNS0 unless `udpPayloadSize` is 0.
 * `name` must have been validated (labels of 1-63 bytes, see checkQuestion): dns-packet does not check names.
 */
export function encodeQuery(
  id: number,
  name: string,
  type: QueryType,
  udpPayloadSize: number = DEFAULT_UDP_PAYLOAD_SIZE,
): Buffer {
  return dnsPacket.encode({
    id,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [
      {
        name: name.endsWith('.') && name !== '.' ? name.slice(0, -1) : name,
        type: wireTypeName(type),
        class: 'IN',
      },
    ],
    additionals: udpPayloadSize > 0 ? [ednsOpt(udpPayloadSize)] : [],
  });
}

/** Encode any packet (server side and tests); `rcode` is put in the low 4 bits of the flags. */
export function encodePacket(packet: dnsPacket.Packet, rcode: number = RCODE.NOERROR): Buffer {
  return dnsPacket.encode({ ...packet, flags: ((packet.flags ?? 0) & ~0xf) | (rcode & 0xf) });
}

/** Prefix a message with its 2-byte length for TCP (RFC 7766). */
export function frameForTcp(message: Uint8Array): Buffer {
  if (message.byteLength > MAX_MESSAGE_BYTES) {
    throw new RangeError(`DNS message of ${message.byteLength} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  const out = Buffer.allocUnsafe(message.byteLength + 2);
  out.writeUInt16BE(message.byteLength, 0);
  out.set(message, 2);
  return out;
}

/** The 16-bit ID of a raw message, or undefined when it is shorter than a header. */
export function rawId(buf: Uint8Array): number | undefined {
  if (buf.byteLength < HEADER_BYTES) return undefined;
  return (buf[0]! << 8) | buf[1]!;
}

/** True when the raw header says: a response (QR=1), opcode QUERY, exactly one question. */
export function rawLooksLikeAnswer(buf: Uint8Array): boolean {
  if (buf.byteLength < HEADER_BYTES) return false;
  const qr = (buf[2]! & 0x80) !== 0;
  const opcode = (buf[2]! >> 3) & 0xf;
  const qdcount = (buf[4]! << 8) | buf[5]!;
  return qr && opcode === 0 && qdcount === 1;
}

/** Canonical form of a domain name for comparison: lower case, no trailing dot. */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Absolute form of a name as dns-packet decodes it (no trailing dot) → with the trailing dot. */
export function absoluteName(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/**
 * True when `packet` answers exactly our question: QR=1, our ID, opcode QUERY, one question with the same
 * name (case-insensitive), type and class IN.
 */
export function answersQuestion(
  packet: DecodedDnsPacket,
  expected: { id: number; name: string; type: QueryType },
): boolean {
  if (packet.type !== 'response' || packet.id !== expected.id || packet.opcode !== 'QUERY') return false;
  if (packet.questions.length !== 1) return false;
  const q = packet.questions[0]!;
  return (
    q.type === wireTypeName(expected.type) &&
    (q.class ?? 'IN') === 'IN' &&
    typeof q.name === 'string' &&
    canonicalName(q.name) === canonicalName(expected.name)
  );
}
