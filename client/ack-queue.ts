/**
 * A connection's queued acknowledgements (FIN, REQ, TOUCH) as text, written once per tick — or at
 * once past 64 KiB — so a burst of acknowledgements costs one socket write.
 */

/** Queued acknowledgements beyond this many bytes are written at once rather than at the end of the tick. */
const FLUSH_THRESHOLD = 64 * 1024;

/**
 * The longest REQ delay sent, in ms (about 31 years). nsqd clamps a delay to its --max-req-timeout
 * (nsqd/protocol_v2.go REQ), but only one it can parse: a larger number would print with an exponent
 * (1e+21), which nsqd refuses with E_INVALID and a closed connection, or overflow its nanoseconds.
 */
const MAX_REQ_DELAY_MS = 1e12;

/** `REQ <id> <ms>\n`, the delay truncated to whole ms within 0..MAX_REQ_DELAY_MS. */
export function reqLine(id: string, delayMs: number): string {
  return 'REQ ' + id + ' ' + Math.min(MAX_REQ_DELAY_MS, Math.max(0, Math.trunc(delayMs))) + '\n';
}

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
