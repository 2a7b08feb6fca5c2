/**
 * Finds worker files by convention, without loading them: `<workersDir>/<topic>/<topic>_<channel>_worker.ts`.
 * The topic is the folder's name; the channel is what lies between `<topic>_` and `_worker.ts`, so
 * names with underscores work. Files that do not fit are ignored. The result is sorted, so every
 * listing and every `dev` run sees the workers in the same order.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isValidChannelName, isValidTopicName } from '../protocol/names.ts';

export interface WorkerFile {
  topic: string;
  channel: string;
  /** Absolute path. */
  path: string;
}

const SUFFIX = '_worker.ts';

/** The channel a file name names inside a topic folder, or undefined when it does not fit the pattern. */
export function channelFromFileName(topic: string, fileName: string): string | undefined {
  if (!fileName.startsWith(`${topic}_`) || !fileName.endsWith(SUFFIX)) return undefined;
  const channel = fileName.slice(topic.length + 1, fileName.length - SUFFIX.length);
  return channel.length > 0 && isValidChannelName(channel) ? channel : undefined;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Every worker file under `workersDir`, sorted by topic then channel. A missing folder has none. */
export function discoverWorkers(workersDir: string): WorkerFile[] {
  const root = resolve(workersDir);
  if (!isDirectory(root)) return [];
  const found: WorkerFile[] = [];
  for (const topic of readdirSync(root).sort()) {
    const folder = join(root, topic);
    if (!isValidTopicName(topic) || !isDirectory(folder)) continue;
    for (const fileName of readdirSync(folder).sort()) {
      const channel = channelFromFileName(topic, fileName);
      if (channel !== undefined) found.push({ topic, channel, path: join(folder, fileName) });
    }
  }
  return found;
}

/** The worker file for a topic and channel, if there is one. */
export function findWorker(workersDir: string, topic: string, channel: string): WorkerFile | undefined {
  return discoverWorkers(workersDir).find((file) => file.topic === topic && file.channel === channel);
}
