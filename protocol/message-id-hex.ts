/**
 * A message id as two numbers. nsqd's ids are 64-bit numbers written as 16 lowercase hex digits
 * (nsqd/guid.go), and every id the bundled broker makes is one, so the broker keeps an id as its
 * two 32-bit halves: no string is made for a message delivered from a record or finished, and its
 * messages in flight are looked up by two integers instead of a 16-character string (a string made,
 * hashed and compared for every message was a tenth of the broker's time under nsq's bench_reader).
 *
 * The mapping is exact for lowercase hex only: `0000000000000abc` and `0000000000000ABC` are
 * different ids to nsqd (it compares the bytes), so an uppercase digit is not hex here. Any other
 * id (a record the broker did not write) stays text, {@link MessageKey.text}.
 */

/** Each byte's value as a lowercase hex digit; 16 for a byte that is not one. */
const DIGIT_VALUE = new Uint8Array(256).fill(16);
for (let digit = 0; digit < 16; digit++) DIGIT_VALUE['0123456789abcdef'.charCodeAt(digit)] = digit;

/** Character codes of the 16 lowercase hex digits. */
const HEX_CODES = Uint8Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));

/**
 * An id as the broker keys it: `high` and `low`, its first and last 8 hex digits as int32 (the bits
 * of each 32-bit half, read signed); or, for an id that is not 16 lowercase hex digits, `text` (its
 * 16 bytes as latin1), with `high` and `low` 0.
 */
export interface MessageKey {
  high: number;
  low: number;
  text: string | undefined;
}

/** A key to fill in place (the parse functions below), for a path that reads it at once. */
export function emptyMessageKey(): MessageKey {
  return { high: 0, low: 0, text: undefined };
}

/**
 * Whether the 16 bytes at `source[at]` are lowercase hex; if so their halves are put into `key`
 * (`text` cleared), otherwise `key` is left as it was. Throws RangeError when the 16 bytes are not
 * all inside `source`.
 */
export function parseHexId(source: Uint8Array, at: number, key: MessageKey): boolean {
  if (at < 0 || at + 16 > source.length) throw new RangeError(`a message id at ${at} does not fit in ${source.length} bytes`);
  let high = 0;
  let low = 0;
  // DIGIT_VALUE's 16 marks a byte that is no digit: or-ed together, bit 4 says whether any was one.
  let digits = 0;
  for (let i = 0; i < 8; i++) {
    const upper = DIGIT_VALUE[source[at + i]!]!;
    const lower = DIGIT_VALUE[source[at + 8 + i]!]!;
    digits |= upper | lower;
    high = (high << 4) | (upper & 15);
    low = (low << 4) | (lower & 15);
  }
  if ((digits & 16) !== 0) return false;
  key.high = high;
  key.low = low;
  key.text = undefined;
  return true;
}

const textBytes = new Uint8Array(16);

/** `id` (a FIN, REQ or TOUCH parameter, or a decoded record's) as a key: its halves when it is 16 lowercase hex digits, else its text. */
export function keyOfText(id: string, key: MessageKey): MessageKey {
  if (id.length === 16) {
    for (let i = 0; i < 16; i++) textBytes[i] = id.charCodeAt(i) > 0xff ? 0x20 : id.charCodeAt(i);
    if (parseHexId(textBytes, 0, key)) return key;
  }
  key.high = 0;
  key.low = 0;
  key.text = id;
  return key;
}

/** Writes the id with these halves as its 16 hex digits at `target[at]`; the caller keeps them inside `target`. */
export function writeHexId(target: Uint8Array, at: number, high: number, low: number): void {
  for (let i = 0; i < 8; i++) {
    target[at + i] = HEX_CODES[(high >>> (28 - 4 * i)) & 15]!;
    target[at + 8 + i] = HEX_CODES[(low >>> (28 - 4 * i)) & 15]!;
  }
}

/** The id with these halves as text: 16 lowercase hex digits. */
export function hexIdText(high: number, low: number): string {
  writeHexId(textBytes, 0, high, low);
  const b = textBytes;
  return String.fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!, b[14]!, b[15]!);
}

/** The key's id as text, as FIN, REQ and TOUCH errors echo it. */
export function keyText(key: MessageKey): string {
  return key.text ?? hexIdText(key.high, key.low);
}
