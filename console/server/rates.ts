/**
 * Per-second rates from nsqd's monotonic counters (`message_count` and friends). nsqd exposes only
 * totals; a rate is the difference of two polls over the time between them. A counter that goes
 * down means nsqd restarted (or the topic was deleted and created again): that interval has no rate,
 * rather than a huge negative one.
 */
export class RateTracker {
  private readonly last = new Map<string, { value: number; atMs: number; seen: number }>();
  private generation = 0;

  /**
   * Records `value` for `key` at `atMs` and returns the rate per second since the previous record,
   * or undefined for a first sample, a reset or a zero interval.
   */
  update(key: string, value: number, atMs: number): number | undefined {
    const previous = this.last.get(key);
    this.last.set(key, { value, atMs, seen: this.generation });
    if (previous === undefined) return undefined;
    const elapsedMs = atMs - previous.atMs;
    if (elapsedMs <= 0 || value < previous.value) return undefined;
    return ((value - previous.value) * 1000) / elapsedMs;
  }

  /**
   * Ends a poll round: keys not updated in it are forgotten, so a deleted topic's counters do not
   * stay in memory and a topic created again with the same name starts a fresh rate.
   */
  endRound(): void {
    for (const [key, entry] of this.last) if (entry.seen !== this.generation) this.last.delete(key);
    this.generation += 1;
  }

  get size(): number {
    return this.last.size;
  }
}
