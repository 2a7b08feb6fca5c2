/**
 * Reading `nsqd.dat` at startup when it may be damaged. nsqd v1.3.0 refuses to start on a garbage or
 * truncated `nsqd.dat`; we start: the damaged file is kept aside as `nsqd.dat.<ms>.bad` (so nothing
 * is lost to a later rewrite), and the topic and channel list is rebuilt from the names of the disk
 * queues' files (`<topic>.diskqueue.*`, `<topic>:<channel>.diskqueue.*`, `<topic>:<channel>.deferred.*`),
 * so every queued message is served again. Paused flags live only in `nsqd.dat`: they are lost, and
 * the log says so. A missing `nsqd.dat` beside queue files (deleted, or a power loss before its first
 * rename reached the disk) is rebuilt the same way.
 */
import { readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isEphemeralName, isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { readMetadata, type Metadata } from './metadata.ts';

const QUEUE_FILE = /^(.+)\.(?:diskqueue\.(?:meta\.dat|\d{6,}\.dat)|deferred\.(?:log|dat))$/;

/**
 * The saved topics and channels: nsqd.dat when it reads, else rebuilt from the queue files (logged),
 * else undefined (a fresh data path). Never throws for a damaged nsqd.dat.
 */
export function loadMetadata(dataPath: string, logger: Logger): Metadata | undefined {
  const file = join(dataPath, 'nsqd.dat');
  let reason: string;
  try {
    const metadata = readMetadata(dataPath);
    if (metadata !== undefined) return metadata;
    reason = 'missing';
  } catch (error) {
    reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    const kept = `${file}.${Date.now()}.bad`;
    try {
      renameSync(file, kept);
      logger.error({ file, keptAs: kept, reason }, 'nsqd.dat is unreadable; kept aside, rebuilding the topic and channel list from the queue files');
    } catch (renameError) {
      logger.error({ file, reason, err: renameError }, 'nsqd.dat is unreadable and could not be kept aside');
    }
  }
  const rebuilt = metadataFromQueueFiles(dataPath);
  const topics = rebuilt.topics ?? [];
  if (topics.length === 0) return undefined;
  logger.warn(
    {
      file,
      reason,
      topics: topics.map((topic) => topic.name),
      channels: topics.flatMap((topic) => (topic.channels ?? []).map((channel) => `${topic.name}:${channel.name}`)),
    },
    'topics and channels rebuilt from the disk queue file names; paused flags were in nsqd.dat and are lost (all unpaused)',
  );
  return rebuilt;
}

/** The topics and channels that have files in the data path, sorted, none paused. */
export function metadataFromQueueFiles(dataPath: string): Metadata {
  const channelsByTopic = new Map<string, Set<string>>();
  for (const entry of readdirSync(dataPath)) {
    const name = QUEUE_FILE.exec(entry)?.[1];
    if (name === undefined) continue;
    const colon = name.indexOf(':');
    const topic = colon < 0 ? name : name.slice(0, colon);
    const channel = colon < 0 ? undefined : name.slice(colon + 1);
    if (!isValidTopicName(topic) || isEphemeralName(topic)) continue;
    if (channel !== undefined && (!isValidChannelName(channel) || isEphemeralName(channel))) continue;
    const channels = channelsByTopic.get(topic) ?? new Set<string>();
    channelsByTopic.set(topic, channels);
    if (channel !== undefined) channels.add(channel);
  }
  const topics = [...channelsByTopic.keys()].sort().map((name) => ({
    name,
    paused: false,
    channels: [...channelsByTopic.get(name)!].sort().map((channel) => ({ name: channel, paused: false })),
  }));
  return { topics };
}
