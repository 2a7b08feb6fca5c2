/**
 * `<data-path>/nsqd.dat`: the topics, channels and paused flags, in nsqd's own JSON shape, written
 * atomically (temp file, fsync, rename). Deferred messages are kept beside it, per channel, in
 * `<topic>:<channel>.deferred.dat`, so they keep their due time across a restart.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import { decodeMessagePayload, encodeMessagePayload } from '../../protocol/message.ts';
import { deadlineFromEpochMs, deadlineToEpochMs } from './deadline-clock.ts';
import { BrokerMessage } from './message.ts';

const paused = z._default(z.boolean(), false);
const MetadataSchema = z.object({
  topics: z._default(
    z.nullable(
      z.array(
        z.object({
          name: z.string(),
          paused,
          channels: z._default(z.nullable(z.array(z.object({ name: z.string(), paused }))), []),
        }),
      ),
    ),
    [],
  ),
  version: z.optional(z.string()),
});

export type Metadata = z.output<typeof MetadataSchema>;

const METADATA_FILE = 'nsqd.dat';

/** Writes a file atomically: a temp file beside it, fsynced, then renamed over it. */
export function writeFileAtomic(path: string, data: Buffer | string, mode = 0o600): void {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

export function readMetadata(dataPath: string): Metadata | undefined {
  const path = join(dataPath, METADATA_FILE);
  if (!existsSync(path)) return undefined;
  return MetadataSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

export function writeMetadata(dataPath: string, metadata: Metadata): void {
  writeFileAtomic(join(dataPath, METADATA_FILE), JSON.stringify(metadata));
}

const deferredPath = (dataPath: string, queueName: string): string => join(dataPath, `${queueName}.deferred.dat`);

/** Stores a channel's deferred messages as `[float64 dueAtMs][int32 length][message payload]` records. */
export function writeDeferred(dataPath: string, queueName: string, messages: readonly BrokerMessage[]): void {
  const path = deferredPath(dataPath, queueName);
  if (messages.length === 0) {
    if (existsSync(path)) unlinkSync(path);
    return;
  }
  const parts: Buffer[] = [];
  for (const message of messages) {
    const payload = encodeMessagePayload(message.timestampNs, message.attempts, message.id, message.body);
    const header = Buffer.allocUnsafe(12);
    header.writeDoubleBE(deadlineToEpochMs(message.dueAtMs), 0);
    header.writeInt32BE(payload.length, 8);
    parts.push(header, payload);
  }
  writeFileAtomic(path, Buffer.concat(parts));
}

/** Reads and removes a channel's stored deferred messages. A torn file yields the whole records before the tear. */
export function takeDeferred(dataPath: string, queueName: string): Array<{ message: BrokerMessage; dueAtMs: number }> {
  const path = deferredPath(dataPath, queueName);
  if (!existsSync(path)) return [];
  const data = readFileSync(path);
  const out: Array<{ message: BrokerMessage; dueAtMs: number }> = [];
  let offset = 0;
  while (data.length - offset >= 12) {
    const dueAtMs = deadlineFromEpochMs(data.readDoubleBE(offset));
    const length = data.readInt32BE(offset + 8);
    if (length < 26 || data.length - offset - 12 < length) break;
    const decoded = decodeMessagePayload(data.subarray(offset + 12, offset + 12 + length));
    out.push({ message: BrokerMessage.withId(decoded.id, decoded.timestampNs, Buffer.from(decoded.body), decoded.attempts), dueAtMs });
    offset += 12 + length;
  }
  unlinkSync(path);
  return out;
}
