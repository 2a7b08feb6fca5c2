/**
 * Finds worker files by convention, without loading them: `<workersDir>/<topic>/<topic>_<channel>_worker.ts`
 * (or `.mts`, `.cts`, `.js`, `.mjs`, `.cjs`). The topic is the folder's name; the channel is what
 * lies between `<topic>_` and `_worker.<ext>`, so names with underscores work. Files that do not fit
 * are ignored. The result is sorted, so every listing and every `dev` run sees the workers in the
 * same order.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';

export interface WorkerFile {
  topic: string;
  channel: string;
  /** Absolute path. */
  path: string;
}

/** The extensions a worker file may have: TypeScript and JavaScript, ES module or CommonJS. */
export const WORKER_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;
const SUFFIX = /_worker\.(?:ts|mts|cts|js|mjs|cjs)$/;

/** The channel a file name names inside a topic folder, or undefined when it does not fit the pattern. */
export function channelFromFileName(topic: string, fileName: string): string | undefined {
  const suffix = SUFFIX.exec(fileName);
  if (!fileName.startsWith(`${topic}_`) || suffix === null || fileName.endsWith('.d.ts')) return undefined;
  const channel = fileName.slice(topic.length + 1, suffix.index);
  return channel.length > 0 && isValidChannelName(channel) ? channel : undefined;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Every worker file under `workersDir`, sorted by topic then channel. A missing folder has none.
 *
 * Errors: RunnerError E_WORKER_INVALID when two files name the same topic and channel
 * (`x_y_worker.ts` beside `x_y_worker.js`): which one runs would be a guess.
 */
export function discoverWorkers(workersDir: string): WorkerFile[] {
  const root = resolve(workersDir);
  if (!isDirectory(root)) return [];
  const found: WorkerFile[] = [];
  for (const topic of readdirSync(root).sort()) {
    const folder = join(root, topic);
    if (!isValidTopicName(topic) || !isDirectory(folder)) continue;
    for (const fileName of readdirSync(folder).sort()) {
      const channel = channelFromFileName(topic, fileName);
      if (channel === undefined) continue;
      const path = join(folder, fileName);
      const twin = found.find((file) => file.topic === topic && file.channel === channel);
      if (twin !== undefined) {
        throw new RunnerError(
          RunnerErrorCode.WorkerInvalid,
          `two worker files for topic ${topic} channel ${channel}: ${twin.path} and ${path}; keep one`,
        );
      }
      found.push({ topic, channel, path });
    }
  }
  return found;
}

/** The worker file for a topic and channel, if there is one. */
export function findWorker(workersDir: string, topic: string, channel: string): WorkerFile | undefined {
  return discoverWorkers(workersDir).find((file) => file.topic === topic && file.channel === channel);
}
