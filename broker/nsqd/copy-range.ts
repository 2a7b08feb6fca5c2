/**
 * Copies `source[start, end)` into `target` at `at`, through a short-lived view of the range and
 * TypedArray#set. Buffer#copy of a range makes the same view on Node 20, after checking its
 * arguments; this is the copy of the paths taken per message (delivery, disk writes), where a
 * body is a range of the frame or record it came in (message.ts). The caller keeps the range
 * inside both buffers.
 */
export function copyRange(target: Buffer, at: number, source: Buffer, start: number, end: number): void {
  target.set(new Uint8Array(source.buffer, source.byteOffset + start, end - start), at);
}
