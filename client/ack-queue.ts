/**
 * A connection's queued acknowledgements (FIN, REQ, TOUCH) as text, written once per tick — or at
 * once past 64 KiB — so a burst of acknowledgements costs one socket write.
 */

/** Queued acknowledgements beyond this many bytes are written at once rather than at the end of the tick. */
const FLUSH_THRESHOLD = 64 * 1024;

export class AckQueue {
  private queued = '';
  private scheduled = false;
  private readonly flushLater = (): void => this.flush();

  constructor(private readonly write: (text: string) => void) {}

  add(line: string): void {
    this.queued += line;
    if (this.queued.length >= FLUSH_THRESHOLD) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushLater);
    }
  }

  /** Writes what is queued now (nothing when empty). */
  flush(): void {
    this.scheduled = false;
    if (this.queued.length === 0) return;
    const text = this.queued;
    this.queued = '';
    this.write(text);
  }

  /** Drops what is queued (the socket is gone). */
  clear(): void {
    this.queued = '';
  }
}
