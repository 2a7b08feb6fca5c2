/**
 * A task's memory of the messages it has processed: a bounded set of keys (message ids, or the
 * worker's dedup keys). When full, the oldest key is forgotten. O(1) per check and per add, with
 * no allocation after construction: every message is checked and added, and the oldest key
 * forgotten, so a `Set` of 10,000 (the default) churned, and each lookup read key strings scattered
 * over the heap (protocol/string-table.ts says what the table does instead).
 */
import { StringTable, hashKey } from '../../protocol/string-table.ts';

export class DedupQueue {
  private readonly table: StringTable<true>;
  /** The keys in the order they were added: a ring whose next slot holds the oldest key once full. */
  private readonly order: (string | undefined)[];
  /** The hash of each key in `order`, so that forgetting one does not hash it again. */
  private readonly orderHashes: Int32Array;
  private next = 0;
  /** The key last hashed and its hash: a task's key is checked, then added, so each is hashed once. */
  private lastKey: string | undefined;
  private lastHash = 0;

  constructor(readonly capacity: number) {
    const wanted = Math.max(0, capacity);
    this.table = new StringTable<true>(wanted);
    this.order = new Array<string | undefined>(wanted).fill(undefined);
    this.orderHashes = new Int32Array(wanted);
  }

  has(key: string): boolean {
    return this.table.has(key, this.hashOf(key));
  }

  add(key: string): void {
    if (this.capacity === 0) return;
    const hash = this.hashOf(key);
    if (this.table.has(key, hash)) return;
    const evicted = this.order[this.next];
    if (evicted !== undefined) this.table.delete(evicted, this.orderHashes[this.next]!);
    this.table.set(key, hash, true);
    this.order[this.next] = key;
    this.orderHashes[this.next] = hash;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
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
    return this.table.size;
  }

  private hashOf(key: string): number {
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastHash = hashKey(key);
    }
    return this.lastHash;
  }
}
