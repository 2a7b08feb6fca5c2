/**
 * Time series kept in memory for the charts, without Graphite: two tiers of fixed-size rings that all
 * series share a clock with. The fine tier holds one point per poll for the 5-minute view; the coarse
 * tier holds averages over `coarseStepMs` for the 30- and 60-minute views. Values are Float32 (the
 * charts need no more) so 1,000 topics with their channels stay within a few megabytes.
 */

export interface SeriesWindow {
  /** Unix seconds, oldest first (uPlot's x axis). */
  times: number[];
  /** One array per key, aligned with `times`; null where the key had no value. */
  values: Record<string, Array<number | null>>;
}

class Tier {
  readonly times: Float64Array;
  readonly values = new Map<string, Float32Array>();
  /** The last slot each key was written in, to forget keys gone for a whole ring. */
  private readonly lastWritten = new Map<string, number>();
  private next = 0;
  private written = 0;

  constructor(readonly stepMs: number, readonly capacity: number) {
    this.times = new Float64Array(capacity).fill(Number.NaN);
  }

  push(atMs: number, samples: ReadonlyMap<string, number>): void {
    const slot = this.next;
    this.times[slot] = atMs;
    for (const ring of this.values.values()) ring[slot] = Number.NaN;
    for (const [key, value] of samples) {
      let ring = this.values.get(key);
      if (ring === undefined) {
        ring = new Float32Array(this.capacity).fill(Number.NaN);
        this.values.set(key, ring);
      }
      ring[slot] = value;
      this.lastWritten.set(key, this.written);
    }
    this.written += 1;
    this.next = (slot + 1) % this.capacity;
    for (const [key, at] of this.lastWritten) {
      if (this.written - at > this.capacity) {
        this.values.delete(key);
        this.lastWritten.delete(key);
      }
    }
  }

  window(keys: readonly string[], sinceMs: number): SeriesWindow {
    const slots: number[] = [];
    const count = Math.min(this.written, this.capacity);
    for (let i = count; i > 0; i -= 1) {
      const slot = (this.next - i + this.capacity) % this.capacity;
      if (this.times[slot]! >= sinceMs) slots.push(slot);
    }
    const values: Record<string, Array<number | null>> = {};
    for (const key of keys) {
      const ring = this.values.get(key);
      values[key] = slots.map((slot) => {
        const value = ring?.[slot];
        return value === undefined || Number.isNaN(value) ? null : value;
      });
    }
    return { times: slots.map((slot) => this.times[slot]! / 1000), values };
  }
}

export interface SeriesStoreOptions {
  /** The poll interval: one fine point per poll. */
  fineStepMs: number;
  /** How far back the fine tier reaches (default 5 minutes). */
  fineSpanMs?: number;
  /** The width of one coarse point (default 15 s). */
  coarseStepMs?: number;
  /** How far back the coarse tier reaches (default 60 minutes). */
  coarseSpanMs?: number;
}

export class SeriesStore {
  private readonly fine: Tier;
  private readonly coarse: Tier;
  private readonly fineSpanMs: number;
  /** The coarse bucket being filled: its start and the running sums per key. */
  private bucketStartMs: number | undefined;
  private readonly bucket = new Map<string, { sum: number; count: number }>();

  constructor(options: SeriesStoreOptions) {
    this.fineSpanMs = options.fineSpanMs ?? 5 * 60_000;
    const coarseStepMs = Math.max(options.coarseStepMs ?? 15_000, options.fineStepMs);
    const coarseSpanMs = options.coarseSpanMs ?? 60 * 60_000;
    this.fine = new Tier(options.fineStepMs, Math.ceil(this.fineSpanMs / options.fineStepMs) + 1);
    this.coarse = new Tier(coarseStepMs, Math.ceil(coarseSpanMs / coarseStepMs) + 1);
  }

  /** Records one poll's values; keys left out have no point at this time. */
  record(atMs: number, samples: ReadonlyMap<string, number>): void {
    this.fine.push(atMs, samples);
    const start = Math.floor(atMs / this.coarse.stepMs) * this.coarse.stepMs;
    if (this.bucketStartMs !== undefined && start !== this.bucketStartMs) this.flushBucket();
    this.bucketStartMs = start;
    for (const [key, value] of samples) {
      if (Number.isNaN(value)) continue;
      const entry = this.bucket.get(key);
      if (entry === undefined) this.bucket.set(key, { sum: value, count: 1 });
      else {
        entry.sum += value;
        entry.count += 1;
      }
    }
  }

  /** The last `windowMs` of the given keys, from the fine tier when it reaches that far. */
  window(keys: readonly string[], windowMs: number, nowMs: number): SeriesWindow {
    const tier = windowMs <= this.fineSpanMs ? this.fine : this.coarse;
    return tier.window(keys, nowMs - windowMs);
  }

  /** Keys with any point in the fine tier (for tests and memory checks). */
  get keyCount(): number {
    return this.fine.values.size;
  }

  private flushBucket(): void {
    const averages = new Map<string, number>();
    for (const [key, { sum, count }] of this.bucket) averages.set(key, sum / count);
    // A coarse point is stamped at the end of its bucket, like the last fine point it averages.
    this.coarse.push(this.bucketStartMs! + this.coarse.stepMs, averages);
    this.bucket.clear();
  }
}
