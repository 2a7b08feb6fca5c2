/**
 * Splits a byte stream into messages at a one-byte delimiter, as to_nsq does: the delimiter is
 * dropped, empty pieces are skipped, and a last piece without a delimiter is still a message.
 * Messages are views of the chunks read, not copies; only a message that spans chunks is joined.
 */
export class LineSplitter {
  /** The start of a message that continues in the next chunk. */
  private carried: Buffer[] = [];
  private carriedBytes = 0;

  constructor(private readonly delimiter: number) {}

  /** Bytes held back waiting for the rest of their message. */
  get pendingBytes(): number {
    return this.carriedBytes;
  }

  /** Appends every complete message in `chunk` to `out`. */
  push(chunk: Buffer, out: Buffer[]): void {
    let start = 0;
    for (let end = chunk.indexOf(this.delimiter, start); end !== -1; end = chunk.indexOf(this.delimiter, start)) {
      this.emit(chunk.subarray(start, end), out);
      start = end + 1;
    }
    if (start < chunk.length) {
      this.carried.push(chunk.subarray(start));
      this.carriedBytes += chunk.length - start;
    }
  }

  /** At the end of input: the last message, if it had no delimiter after it. */
  end(out: Buffer[]): void {
    this.emit(Buffer.alloc(0), out);
  }

  private emit(tail: Buffer, out: Buffer[]): void {
    let message = tail;
    if (this.carriedBytes > 0) {
      this.carried.push(tail);
      message = Buffer.concat(this.carried, this.carriedBytes + tail.length);
      this.carried = [];
      this.carriedBytes = 0;
    }
    if (message.length > 0) out.push(message);
  }
}
