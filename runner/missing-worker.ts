/**
 * What a run says when the worker it names is not there: the workers that are, the files skipped by
 * their names, and the one file or worker most likely meant (named almost so, in another folder, or a
 * typo away), so that the fix can be said by itself.
 */
import { readdirSync } from 'node:fs';
import { basename, join, parse } from 'node:path';
import { editDistance, onlyNear } from '../protocol/suggest.ts';
import { channelFromFileName, discoverWorkers, isDirectory, namingRule, rejectedWorkerFiles, WORKER_EXTENSIONS, type WorkerFile } from './worker/discover.ts';
import { noWorkersFound } from './worker/workers-folder-hints.ts';

/** The workers of `workersDir` (`found`, when already discovered) and the files skipped by their names, as one clause. */
export function availableWorkers(workersDir: string, found: readonly WorkerFile[] = discoverWorkers(workersDir, 'skip')): string {
  const rejected = rejectedWorkerFiles(workersDir);
  const skipped = rejected.length === 0 ? '' : `; not workers by their names: ${rejected.map((file) => `${file.path} (${file.reason})`).join(', ')}; ${namingRule(workersDir)}`;
  // Files named almost so are said at once: "no worker files" would contradict the list that follows.
  if (found.length === 0) return rejected.length === 0 ? noWorkersFound(workersDir) : `no workers under ${workersDir}/${skipped}`;
  return `workers found: ${found.map((file) => `--topic ${file.topic} --channel ${file.channel}`).join(', ')}${skipped}`;
}

/**
 * The file most likely meant for the worker of `topic` and `channel`, with what is wrong and the path
 * it should have: in the topic's folder, one named almost so (`_workers.ts`, `.tsx`, a letter off: two
 * edits at most, in any case; without the `_worker` suffix, `<topic>_<channel>.ts`; or without the
 * topic, `<channel>_worker.ts`, the folder naming it already); else one of
 * exactly that name in another folder or straight in `workersDir` ({@link misplaced}); else undefined.
 * Worker files of the topic's other channels (a channel in another case among them) are not offered:
 * they are listed as found. The path it should have keeps the file's extension when it is a worker's.
 */
export function nearMiss(workersDir: string, topic: string, channel: string): NearMiss | undefined {
  let entries: string[];
  try {
    entries = readdirSync(join(workersDir, topic));
  } catch {
    return isDirectory(workersDir) ? misplaced(workersDir, topic, channel) : undefined;
  }
  const expected = `${topic}_${channel}_worker.ts`.toLowerCase();
  const unsuffixed = `${topic}_${channel}`.toLowerCase();
  const untopiced = `${channel}_worker`.toLowerCase();
  const looksMeant = (entry: string): boolean => {
    const name = parse(entry).name.toLowerCase();
    return editDistance(entry.toLowerCase(), expected) <= 2 || name === unsuffixed || name === untopiced;
  };
  const found = entries.filter((entry) => channelFromFileName(topic, entry) === undefined).find(looksMeant);
  if (found === undefined) return misplaced(workersDir, topic, channel);
  const extension = WORKER_EXTENSIONS.find((ext) => found.endsWith(ext)) ?? '.ts';
  return { path: join(workersDir, topic, found), fix: 'is named almost so: rename it to', target: join(workersDir, topic, `${topic}_${channel}_worker${extension}`) };
}

/**
 * The worker's file by its exact name (any worker extension) straight in `workersDir` or in another
 * folder where it is not that folder's worker (`workers/order/orders_email_worker.ts`; not
 * `workers/user_events/user_events_signup_worker.ts` for `--topic user`, a worker of its own folder).
 */
function misplaced(workersDir: string, topic: string, channel: string): NearMiss | undefined {
  const named = (entry: string): boolean => channelFromFileName(topic, entry) === channel;
  const entries = readdirSync(workersDir).sort();
  const moved = (path: string, fix: string): NearMiss => ({ path, fix, target: join(workersDir, topic, basename(path)) });
  const atRoot = entries.find((entry) => named(entry) && !isDirectory(join(workersDir, entry)));
  if (atRoot !== undefined) return moved(join(workersDir, atRoot), 'is not in its topic folder: move it to');
  for (const folder of entries.filter((entry) => entry !== topic && isDirectory(join(workersDir, entry)))) {
    const entry = readdirSync(join(workersDir, folder)).find((name) => named(name) && channelFromFileName(folder, name) === undefined);
    if (entry !== undefined) return moved(join(workersDir, folder, entry), 'is in the folder of another topic: move it to');
  }
  return undefined;
}

export interface NearMiss {
  path: string;
  /** What is wrong and what to do, before {@link target}. */
  fix: string;
  /** The path the file should have. */
  target: string;
}

/**
 * `--channel billing` for `--channel biling` when the topic has a worker of that channel, or
 * `--topic orders` for `--topic order` when that topic has one of the channel (onlyNear), else
 * undefined.
 */
export function nearWorker(found: readonly WorkerFile[], topic: string, channel: string): string | undefined {
  const nearChannel = nearOrStartOf(channel, found.filter((file) => file.topic === topic).map((file) => file.channel));
  if (nearChannel !== undefined) return `--channel ${nearChannel}`;
  const nearTopic = nearOrStartOf(topic, found.filter((file) => file.channel === channel).map((file) => file.topic));
  return nearTopic === undefined ? undefined : `--topic ${nearTopic}`;
}

/** The one name a typo from `word`, else the one name `word` (three letters or more) begins: `bill` for `billing`. */
function nearOrStartOf(word: string, names: readonly string[]): string | undefined {
  const near = onlyNear(word, names);
  if (near !== undefined || word.length < 3) return near;
  const begun = names.filter((name) => name.startsWith(word));
  return begun.length === 1 ? begun[0] : undefined;
}
