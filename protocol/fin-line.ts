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
 * -1 for a line of another shape or one ending in `\r` (the general path trims it). An id with a
 * space in it is split differently too: {@link hasSpace} says so, asked only of an id that is not hex.
 */
export function finLineIdAt(chunk: Buffer, offset: number, newline: number): number {
  if (newline - offset !== FIN_LINE_LENGTH) return -1;
  if (chunk[offset] !== 0x46 || chunk[offset + 1] !== 0x49 || chunk[offset + 2] !== 0x4e || chunk[offset + 3] !== SPACE) return -1;
  if (chunk[newline - 1] === CARRIAGE_RETURN) return -1;
  return offset + 4;
}

/** Whether the 16-byte id at `chunk[idAt]` holds a space (the general path would split it there). */
export function hasSpace(chunk: Buffer, idAt: number): boolean {
  for (let i = idAt; i < idAt + MESSAGE_ID_LENGTH; i++) if (chunk[i] === SPACE) return true;
  return false;
}
