/**
 * The command parser's fast path for the line a consumer sends for every message, `FIN <id>`
 * (command-parser.ts).
 */
import { MESSAGE_ID_LENGTH } from './message.ts';

/** `FIN ` and a 16-byte message id. */
const FIN_LINE_LENGTH = 4 + MESSAGE_ID_LENGTH;
const SPACE = 0x20;
const CARRIAGE_RETURN = 0x0d;

/**
 * Where the id of a `FIN <id>` line (from `offset` to the `\n` at `newline`) starts, found without
 * the line's text or its split: the one command a consumer sends for every message, which made a
 * string of the line, a string of `FIN` and the id, and an array, only to take the id back out.
 * -1 for any line the general path would split or trim differently (a space in the id, a trailing
 * `\r`), which the general path then parses.
 */
export function finLineIdAt(chunk: Buffer, offset: number, newline: number): number {
  if (newline - offset !== FIN_LINE_LENGTH) return -1;
  if (chunk[offset] !== 0x46 || chunk[offset + 1] !== 0x49 || chunk[offset + 2] !== 0x4e || chunk[offset + 3] !== SPACE) return -1;
  if (chunk[newline - 1] === CARRIAGE_RETURN) return -1;
  for (let i = offset + 4; i < newline; i++) if (chunk[i] === SPACE) return -1;
  return offset + 4;
}
