/**
 * Go's `%q` rendering of a name, which nsqd uses in error descriptions such as
 * `PUB topic name "a b" is not valid`.
 *
 * The input is a byte string (one char per wire byte, as the command parser decodes lines in latin1)
 * and so is the output, because error frames are written back byte for byte: Go reads the bytes as
 * UTF-8, keeps printable runes as they are, escapes the rest (`\n`, `\x01`, `\u00a0`, ...) and writes
 * each byte that is not valid UTF-8 as `\xNN`.
 */

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
};

const hex = (value: number, digits: number): string => value.toString(16).padStart(digits, '0');

/** The rune starting at `i` and its length in bytes, or undefined where Go's decoder sees an invalid byte. */
function decodeRune(bytes: Buffer, i: number): [rune: number, size: number] | undefined {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return [b0, 1];
  const cont = (at: number, low = 0x80, high = 0xbf): number | undefined => {
    const b = bytes[at];
    return b !== undefined && b >= low && b <= high ? b & 0x3f : undefined;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    const c1 = cont(i + 1);
    return c1 === undefined ? undefined : [((b0 & 0x1f) << 6) | c1, 2];
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // No overlong forms (E0 needs A0..BF) and no surrogates (ED needs 80..9F).
    const c1 = cont(i + 1, b0 === 0xe0 ? 0xa0 : 0x80, b0 === 0xed ? 0x9f : 0xbf);
    const c2 = c1 === undefined ? undefined : cont(i + 2);
    return c1 === undefined || c2 === undefined ? undefined : [((b0 & 0x0f) << 12) | (c1 << 6) | c2, 3];
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const c1 = cont(i + 1, b0 === 0xf0 ? 0x90 : 0x80, b0 === 0xf4 ? 0x8f : 0xbf);
    const c2 = c1 === undefined ? undefined : cont(i + 2);
    const c3 = c2 === undefined ? undefined : cont(i + 3);
    return c1 === undefined || c2 === undefined || c3 === undefined ? undefined : [((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
  }
  return undefined;
}

export function goQuote(byteString: string): string {
  const bytes = Buffer.from(byteString, 'latin1');
  let out = '"';
  for (let i = 0; i < bytes.length; ) {
    const decoded = decodeRune(bytes, i);
    if (decoded === undefined) {
      out += `\\x${hex(bytes[i]!, 2)}`;
      i++;
      continue;
    }
    const [rune, size] = decoded;
    const char = String.fromCodePoint(rune);
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (rune === 0x20 || PRINTABLE.test(char)) out += bytes.toString('latin1', i, i + size);
    else if (SHORT_ESCAPES[rune] !== undefined) out += SHORT_ESCAPES[rune];
    else if (rune < 0x20 || rune === 0x7f) out += `\\x${hex(rune, 2)}`;
    else if (rune < 0x10000) out += `\\u${hex(rune, 4)}`;
    else out += `\\U${hex(rune, 8)}`;
    i += size;
  }
  return `${out}"`;
}
