/**
 * Publishes kept in flight together, so a publisher does not wait one round trip per message:
 * up to `limit` unanswered publishes, then it waits for the oldest. nsqd answers in order on one
 * connection, so waiting for the oldest waits for the fewest. The first failure is kept and
 * stops the caller; later answers are still counted.
 */
import { Fifo } from '../../client/fifo.ts';
import { thrownText } from '../../protocol/thrown-text.ts';

export class PublishPipeline {
  private readonly pending = new Fifo<Promise<void>>();
  private confirmed = 0;
  private failure: Error | undefined;

  constructor(private readonly limit: number) {}

  /** Messages nsqd has accepted so far. */
  get published(): number {
    return this.confirmed;
  }

  /** The first publish that failed, if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Tracks a publish of `count` messages; resolves once there is room for another. */
  async add(publish: Promise<void>, count: number): Promise<void> {
    this.pending.push(
      publish.then(
        () => {
          this.confirmed += count;
        },
        (error: unknown) => {
          this.failure ??= error instanceof Error ? error : new Error(thrownText(error));
        },
      ),
    );
    if (this.pending.length >= this.limit) await this.pending.shift();
  }

  /** Waits for every answer. */
  async drain(): Promise<void> {
    for (let next = this.pending.shift(); next !== undefined; next = this.pending.shift()) await next;
  }
}

/** Spaces messages `1000 / perSecond` ms apart, sleeping only when ahead of schedule. */
export class Pacer {
  private startedAt = performance.now();
  private granted = 0;

  constructor(private readonly perSecond: number) {}

  /** Undefined when the next message is due now; otherwise a promise that resolves when it is. */
  next(): Promise<void> | undefined {
    const dueAt = this.startedAt + (this.granted++ * 1000) / this.perSecond;
    const delayMs = dueAt - performance.now();
    // Timers fire at millisecond granularity: closer than that, send now and let the schedule catch up.
    if (delayMs < 1) return undefined;
    return new Promise((resolve) => setTimeout(resolve, delayMs));
  }

  /** Restarts the schedule now, counting `sent` messages as already sent at this instant. */
  restart(sent: number): void {
    this.startedAt = performance.now();
    this.granted = sent;
  }
}
