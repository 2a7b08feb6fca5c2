/**
 * A task's memory of the messages it has processed: a bounded set of keys (message ids, or the
 * worker's dedup keys). When full, the oldest key is forgotten. O(1) per check and per add.
 */
export class DedupQueue {
  private readonly keys = new Set<string>();
  private readonly order: (string | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.order = new Array(Math.max(0, capacity));
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    if (this.capacity === 0 || this.keys.has(key)) return;
    const evicted = this.order[this.next];
    if (evicted !== undefined) this.keys.delete(evicted);
    this.order[this.next] = key;
    this.next = (this.next + 1) % this.capacity;
    this.keys.add(key);
  }

  /** Every remembered key, oldest first: replaying them into a new queue rebuilds this one. */
  keysOldestFirst(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const key = this.order[(this.next + i) % this.capacity];
      if (key !== undefined) out.push(key);
    }
    return out;
  }

  get size(): number {
    return this.keys.size;
  }
}
