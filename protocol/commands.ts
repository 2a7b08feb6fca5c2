/**
 * Client → server commands: a text line ending in `\n`, split on single spaces, optionally
 * followed by `[int32 size][body]`. The encoders here are used by clients, and the MPUB body format by
 * both sides (encodeMpub, parseMpubRanges); servers read commands with command-parser.ts.
 */

/** The four bytes a client sends first to speak protocol V2 to nsqd. */
export const MAGIC_V2 = Buffer.from('  V2');
/** The four bytes nsqd sends first to speak protocol V1 to nsqlookupd. */
export const MAGIC_V1 = Buffer.from('  V1');

/** A command line, with an optional length-prefixed body. */
export function encodeCommand(name: string, params: readonly (string | number)[] = [], body?: Buffer): Buffer {
  const line = params.length === 0 ? `${name}\n` : `${name} ${params.join(' ')}\n`;
  const lineLength = Buffer.byteLength(line);
  if (body === undefined) return Buffer.from(line);
  const out = Buffer.allocUnsafe(lineLength + 4 + body.length);
  out.write(line, 0);
  out.writeInt32BE(body.length, lineLength);
  body.copy(out, lineLength + 4);
  return out;
}

export const encodeIdentify = (body: object): Buffer => encodeCommand('IDENTIFY', [], Buffer.from(JSON.stringify(body)));
export const encodeAuth = (secret: Buffer | string): Buffer => encodeCommand('AUTH', [], Buffer.from(secret));
export const encodeSub = (topic: string, channel: string): Buffer => encodeCommand('SUB', [topic, channel]);
/**
 * `PUB <topic>\n[int32 size][body]`, one allocation and no string: a producer's per-message path.
 * A topic name is ASCII (protocol/names.ts), a byte a character; any other is encoded as UTF-8 by
 * {@link encodeCommand}, for nsqd to refuse as it would.
 */
export function encodePub(topic: string, body: Buffer): Buffer {
  const lineLength = 5 + topic.length;
  const out = Buffer.allocUnsafe(lineLength + 4 + body.length);
  out[0] = 0x50; // P
  out[1] = 0x55; // U
  out[2] = 0x42; // B
  out[3] = 0x20;
  for (let i = 0; i < topic.length; i++) {
    const code = topic.charCodeAt(i);
    if (code > 0x7f) return encodeCommand('PUB', [topic], body);
    out[4 + i] = code;
  }
  out[lineLength - 1] = 0x0a;
  out.writeInt32BE(body.length, lineLength);
  out.set(body, lineLength + 4);
  return out;
}
export const encodeDpub = (topic: string, delayMs: number, body: Buffer): Buffer =>
  encodeCommand('DPUB', [topic, Math.trunc(delayMs)], body);
// nsqd parses RDY as an unsigned integer: a fractional count (a share of max_in_flight) or a negative one
// would be a fatal E_INVALID, so it is truncated and floored at 0 like REQ's delay.
export const encodeRdy = (count: number): Buffer => encodeCommand('RDY', [Math.max(0, Math.trunc(count))]);
// The id is the 16 bytes nsqd sent, decoded as latin1 (one char per byte): it is encoded back the same
// way so it is echoed byte for byte. UTF-8 would turn any byte >= 0x80 into two and nsqd would reject it.
// The `…Line` forms are the same commands as text, which the client's ack queue joins into one write per tick.
export const finLine = (id: string): string => 'FIN ' + id + '\n';
export const encodeFin = (id: string): Buffer => Buffer.from(finLine(id), 'latin1');
/**
 * The longest REQ delay sent, in ms (about 31 years). nsqd clamps a delay to its --max-req-timeout
 * (nsqd/protocol_v2.go REQ), but only one it can parse: a larger number would print with an exponent
 * (1e+21), which nsqd refuses with E_INVALID and a closed connection, or overflow its nanoseconds.
 */
const MAX_REQ_DELAY_MS = 1e12;

/** `REQ <id> <ms>\n`, the delay truncated to whole ms within 0..MAX_REQ_DELAY_MS. */
export const reqLine = (id: string, delayMs: number): string => `REQ ${id} ${Math.min(MAX_REQ_DELAY_MS, Math.max(0, Math.trunc(delayMs)))}\n`;
export const encodeReq = (id: string, delayMs: number): Buffer => Buffer.from(reqLine(id, delayMs), 'latin1');
export const touchLine = (id: string): string => 'TOUCH ' + id + '\n';
export const encodeTouch = (id: string): Buffer => Buffer.from(touchLine(id), 'latin1');
export const CLS = Buffer.from('CLS\n');
export const NOP = Buffer.from('NOP\n');

/** `MPUB <topic>\n[int32 body_size][int32 count]{[int32 size][bytes]}…`, written with one allocation. */
export function encodeMpub(topic: string, bodies: readonly Buffer[]): Buffer {
  const line = `MPUB ${topic}\n`;
  const lineLength = Buffer.byteLength(line);
  let bodySize = 4;
  for (const body of bodies) bodySize += 4 + body.length;
  const out = Buffer.allocUnsafe(lineLength + 4 + bodySize);
  out.write(line, 0);
  let offset = out.writeInt32BE(bodySize, lineLength);
  offset = out.writeInt32BE(bodies.length, offset);
  for (const body of bodies) {
    offset = out.writeInt32BE(body.length, offset);
    offset += body.copy(out, offset);
  }
  return out;
}

/** The bodies of an MPUB (TCP, after its size word) or a binary `/mpub`: `[int32 count]{[int32 size][bytes]}…`. */
export interface MpubLimits {
  maxMsgSize: number;
  maxBodySize: number;
}

export class MpubFormatError extends Error {
  override readonly name = 'MpubFormatError';
  constructor(
    /** nsqd's error code: `E_BAD_BODY` or `E_BAD_MESSAGE`. */
    readonly code: 'E_BAD_BODY' | 'E_BAD_MESSAGE',
    readonly description: string,
  ) {
    super(`${code} ${description}`);
  }
}

/**
 * Finds the messages of an MPUB body, checking every bound as nsqd does (`nsqd/protocol_v2.go`
 * readMPUB). Returns them as ranges of `body`, flat: message i is `body[ranges[2i], ranges[2i+1])`,
 * so that a broker can copy each to its destination without an object per message. Throws
 * {@link MpubFormatError} with nsqd's code and words.
 */
export function parseMpubRanges(body: Buffer, limits: MpubLimits): number[] {
  if (body.length < 4) throw new MpubFormatError('E_BAD_BODY', 'MPUB failed to read message count');
  const count = body.readInt32BE(0);
  const maxMessages = Math.floor((limits.maxBodySize - 4) / 5);
  if (count <= 0 || count > maxMessages) throw new MpubFormatError('E_BAD_BODY', `MPUB invalid message count ${count}`);
  // Grown as messages are found rather than allocated at `count`: a 12-byte body claiming a million
  // messages must not cost a million-slot array before it fails.
  const ranges: number[] = [];
  let offset = 4;
  for (let i = 0; i < count; i++) {
    if (body.length - offset < 4) {
      throw new MpubFormatError('E_BAD_MESSAGE', `MPUB failed to read message(${i}) body size`);
    }
    const size = body.readInt32BE(offset);
    offset += 4;
    if (size <= 0) throw new MpubFormatError('E_BAD_MESSAGE', `MPUB invalid message(${i}) body size ${size}`);
    if (size > limits.maxMsgSize) {
      throw new MpubFormatError('E_BAD_MESSAGE', `MPUB message too big ${size} > ${limits.maxMsgSize}`);
    }
    if (body.length - offset < size) throw new MpubFormatError('E_BAD_MESSAGE', 'MPUB failed to read message body');
    ranges.push(offset, offset + size);
    offset += size;
  }
  return ranges;
}
