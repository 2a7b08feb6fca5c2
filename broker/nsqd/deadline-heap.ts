/**
 * A binary min-heap of messages ordered by `dueAtMs`, each message knowing its own index so it can
 * be removed in O(log n) when it is finished or requeued. One serves a channel's in-flight
 * timeouts, another its deferred messages: expiry never scans the messages that are not due.
 */
import type { BrokerMessage } from './message.ts';

export class DeadlineHeap {
  private readonly items: BrokerMessage[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The earliest due time, or Infinity when empty. */
  get nextDueAtMs(): number {
    return this.items.length === 0 ? Infinity : this.items[0]!.dueAtMs;
  }

  push(message: BrokerMessage): void {
    message.heapIndex = this.items.length;
    this.items.push(message);
    this.siftUp(message.heapIndex);
  }

  /** Removes and returns the earliest message if it is due at `nowMs`. */
  popDue(nowMs: number): BrokerMessage | undefined {
    const top = this.items[0];
    if (top === undefined || top.dueAtMs > nowMs) return undefined;
    this.removeAt(0);
    return top;
  }

  remove(message: BrokerMessage): boolean {
    const index = message.heapIndex;
    if (index < 0 || this.items[index] !== message) return false;
    this.removeAt(index);
    return true;
  }

  /** Re-establishes order after `message.dueAtMs` changed. */
  update(message: BrokerMessage): void {
    this.siftUp(message.heapIndex);
    this.siftDown(message.heapIndex);
  }

  /** Removes and returns everything, in no particular order. */
  drain(): BrokerMessage[] {
    const all = this.items.splice(0);
    for (const message of all) message.heapIndex = -1;
    return all;
  }

  private removeAt(index: number): void {
    const removed = this.items[index]!;
    const last = this.items.pop()!;
    removed.heapIndex = -1;
    if (index < this.items.length) {
      this.items[index] = last;
      last.heapIndex = index;
      this.siftUp(index);
      this.siftDown(last.heapIndex);
    }
  }

  private siftUp(index: number): void {
    const items = this.items;
    const item = items[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex]!;
      if (parent.dueAtMs <= item.dueAtMs) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
  }

  private siftDown(index: number): void {
    const items = this.items;
    const length = items.length;
    const item = items[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && items[right]!.dueAtMs < items[left]!.dueAtMs ? right : left;
      const childItem = items[child]!;
      if (childItem.dueAtMs >= item.dueAtMs) break;
      items[index] = childItem;
      childItem.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}
