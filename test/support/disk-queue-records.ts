/** The disk queue's records as buffers, for tests and benches that compare them whole. */
import type { DiskQueue } from '../../broker/nsqd/disk-queue.ts';

/** The next record's payload (a view of the queue's block: nothing writes to it again), or undefined when empty. */
export function readNext(queue: DiskQueue): Buffer | undefined {
  if (!queue.readNextRange()) return undefined;
  const { source, start, end } = queue.lastRecord;
  return source.subarray(start, end);
}
