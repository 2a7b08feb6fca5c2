/**
 * Finds worker files by convention, without loading them: `<workersDir>/<topic>/<topic>_<channel>_worker.ts`
 * (or `.mts`, `.cts`, `.js`, `.mjs`, `.cjs`). The topic is the folder's name; the channel is what
 * lies between `<topic>_` and `_worker.<ext>`, so names with underscores work. A file that ends in
 * `_worker.<ext>` but does not fit (a bad topic or channel name, a name that does not start with its
 * folder's) is reported with the rule, not skipped without a word; so is `<topic>_<channel>.ts` that
 * defines a worker in a topic folder that holds none (one named without its suffix); other files are
 * ignored. The
 * result is sorted, so every listing and every `dev` run sees the workers in the same order.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';

export interface WorkerFile {
  topic: string;
  channel: string;
  /** Absolute path. */
  path: string;
}

/** A file that looks like a worker file but breaks the naming rule, and why. */
export interface RejectedWorkerFile {
  path: string;
  reason: string;
}

const NAME_RULE = '^[.a-zA-Z0-9_-]+$, 1..64 bytes';

/** The naming rule, for messages. */
export function namingRule(workersDir: string): string {
  return `worker files are ${workersDir}/<topic>/<topic>_<channel>_worker.ts, with topic and channel names matching ${NAME_RULE}`;
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

/**
 * The worker a path under `workersDir` names, if it is a worker file (`<dir>/<topic>/<topic>_<channel>_worker.ts`,
 * its folder named as a topic): what dev's watch of the folder makes of a file added, changed or removed.
 */
export function workerFileAt(workersDir: string, path: string): WorkerFile | undefined {
  const topic = basename(dirname(path));
  if (resolve(dirname(dirname(path))) !== resolve(workersDir) || !isValidTopicName(topic)) return undefined;
  const channel = channelFromFileName(topic, basename(path));
  return channel === undefined ? undefined : { topic, channel, path: resolve(path) };
}

/** A name's end that says "worker" another way than `_worker`: `.worker`, `-worker`, `_workers`, `_Worker`, `Worker`. */
const WORKERISH_END = /(?:[._-](?:[wW]orkers?|WORKERS?)|Workers?)$/;

/**
 * What a script in `folder` named `<topic>_<channel>.ts` (any worker extension; no second dot: not
 * `.test.ts`, `.d.mts`), or `<topic>_<channel>` ending in "worker" another way
 * (`orders_email.worker.ts`, `orders_email_workers.ts`), or written with dashes
 * (`orders-email-worker.ts`), that defines a worker (`defineWorker(`, or
 * a class extending `Worker`) should be named, and why; else undefined: a helper so named is not one.
 * Without such an end only in a folder that `holdsAWorker` not: there `<topic>_<x>.ts` is more
 * likely a helper (a base class extending Worker, say).
 */
function misnamedWorker(topic: string, folder: string, fileName: string, holdsAWorker: boolean): { target: string; reason: string } | undefined {
  const extension = WORKER_EXTENSIONS.find((ext) => fileName.endsWith(ext));
  // `refunds-audit-worker.ts`: the topic followed by a dash, as file names are often written.
  const dashed = fileName.startsWith(`${topic}-`);
  if (extension === undefined || !(fileName.startsWith(`${topic}_`) || dashed)) return undefined;
  const rest = fileName.slice(topic.length + 1, -extension.length);
  const end = WORKERISH_END.exec(rest);
  // Helpers are often named with dashes (orders-base.ts, a base class): one must end as a worker's does.
  if (end === null && (holdsAWorker || dashed)) return undefined;
  const channel = end === null ? rest : rest.slice(0, end.index);
  if (channel.length === 0 || channel.includes('.') || !isValidChannelName(channel)) return undefined;
  let source: string;
  try {
    source = readFileSync(join(folder, fileName), 'utf8');
  } catch {
    return undefined;
  }
  if (!/\bdefineWorker\s*\(|\bextends\s+Worker\b/.test(source)) return undefined;
  const target = `${topic}_${channel}_worker${extension}`;
  const reason = dashed
    ? `its name joins topic, channel and worker with dashes, where a worker's joins them with underscores`
    : end === null
      ? 'it has no _worker suffix'
      : `its name ends in ${end[0]} where a worker's ends in _worker`;
  // The right name taken already (a copy saved under both): renaming would overwrite it.
  const fix = existsSync(join(folder, target)) ? `${target} is there already: keep one` : `rename it to ${target}`;
  return { target, reason: `${reason} (${fix})` };
}

/** Whether `path` is a folder (false when missing or a file). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The folder a worker file `fileName` found outside it belongs in: the longest existing folder whose
 * topic its name starts with (topics may hold underscores), else the topic when the name splits only
 * one way (`greet_hello_worker.ts`), else `<topic>`.
 */
function topicFolderFor(folders: readonly string[], fileName: string): string {
  const existing = folderNamedBy(folders, fileName);
  if (existing !== undefined) return existing;
  const parts = fileName.slice(0, SUFFIX.exec(fileName)!.index).split('_');
  return parts.length === 2 && isValidTopicName(parts[0]!) && channelFromFileName(parts[0]!, fileName) !== undefined ? parts[0]! : '<topic>';
}

/** The longest of `folders` (but `except`) whose topic `fileName` names as a worker's; undefined when none does. */
function folderNamedBy(folders: readonly string[], fileName: string, except?: string): string | undefined {
  return folders.filter((folder) => folder !== except && channelFromFileName(folder, fileName) !== undefined).sort((a, b) => b.length - a.length)[0];
}

/** Why a `*_worker.<ext>` file in folder `topic` (under `root`, beside `folders`) is not a worker, or undefined when it is one. */
function rejection(root: string, folders: readonly string[], topic: string, fileName: string): string | undefined {
  if (!isValidTopicName(topic)) return `the folder name ${JSON.stringify(topic)} is not a valid topic name (${NAME_RULE})`;
  if (!fileName.startsWith(`${topic}_`)) {
    // `orders_email_worker.ts` in workers/order/ beside workers/orders/: the folder of the topic it
    // names (the longest that fits: topics may hold underscores). With no such folder, no guess.
    const named = folderNamedBy(folders, fileName, topic);
    const move =
      named === undefined
        ? `: move it to the folder of its topic, or name it ${topic}_<channel>_worker${extname(fileName)}`
        : `: move it to ${join(root, named, fileName)}, or rename it ${topic}_${fileName.slice(named.length + 1)}`;
    return `the file name does not start with its folder's topic (${topic}_)${move}`;
  }
  const channel = fileName.slice(topic.length + 1, SUFFIX.exec(fileName)!.index);
  if (channel.length === 0) return 'the file name has no channel between the topic and _worker';
  return `${JSON.stringify(channel)} is not a valid channel name (${NAME_RULE})`;
}

/** Files under `workersDir` that end in `_worker.<ext>` but are not workers by the naming rule, sorted. */
export function rejectedWorkerFiles(workersDir: string): RejectedWorkerFile[] {
  // Paths as the folder was given (`workers/…` by default), as a run names them.
  const root = workersDir;
  if (!isDirectory(root)) return [];
  const rejected: RejectedWorkerFile[] = [];
  const entries = readdirSync(root).sort();
  const folders = entries.filter((entry) => isDirectory(join(root, entry)));
  for (const topic of entries) {
    const folder = join(root, topic);
    if (!isDirectory(folder)) {
      // A worker file straight in workers/ is a common slip: say where it belongs.
      if (SUFFIX.test(topic) && !topic.endsWith('.d.ts')) rejected.push({ path: folder, reason: `it is not in a topic folder (move it to ${join(root, topicFolderFor(folders, topic), topic)})` });
      continue;
    }
    const fileNames = readdirSync(folder).sort();
    const holdsAWorker = isValidTopicName(topic) && fileNames.some((fileName) => channelFromFileName(topic, fileName) !== undefined);
    for (const fileName of fileNames) {
      if (fileName.endsWith('.d.ts')) continue;
      if (isDirectory(join(folder, fileName))) {
        // `workers/orders/billing/orders_billing_worker.ts`: a folder per channel is a common slip.
        for (const deeper of readdirSync(join(folder, fileName)).filter((name) => SUFFIX.test(name)).sort()) {
          rejected.push({ path: join(folder, fileName, deeper), reason: `it is a folder too deep (move it to ${join(root, topicFolderFor(folders, deeper), deeper)})` });
        }
        continue;
      }
      if (!SUFFIX.test(fileName)) {
        const misnamed = isValidTopicName(topic) ? misnamedWorker(topic, folder, fileName, holdsAWorker) : undefined;
        if (misnamed !== undefined) rejected.push({ path: join(folder, fileName), reason: misnamed.reason });
        continue;
      }
      if (isValidTopicName(topic) && channelFromFileName(topic, fileName) !== undefined) continue;
      rejected.push({ path: join(folder, fileName), reason: rejection(root, folders, topic, fileName)! });
    }
  }
  return rejected;
}

/** Every worker file under `workersDir`, sorted by topic then channel, and the second files of a topic and channel. */
function scanWorkers(workersDir: string): { files: WorkerFile[]; twins: WorkerFile[] } {
  const root = resolve(workersDir);
  const files: WorkerFile[] = [];
  const twins: WorkerFile[] = [];
  if (!isDirectory(root)) return { files, twins };
  for (const topic of readdirSync(root).sort()) {
    const folder = join(root, topic);
    if (!isValidTopicName(topic) || !isDirectory(folder)) continue;
    for (const fileName of readdirSync(folder).sort()) {
      const channel = channelFromFileName(topic, fileName);
      if (channel === undefined) continue;
      const file = { topic, channel, path: join(folder, fileName) };
      (files.some((found) => found.topic === topic && found.channel === channel) ? twins : files).push(file);
    }
  }
  return { files, twins };
}

/** The refusal of `twin`, a second file for a worker of `files`: which one runs would be a guess. */
function twinError(files: readonly WorkerFile[], twin: WorkerFile): RunnerError {
  const first = files.find((file) => file.topic === twin.topic && file.channel === twin.channel)!;
  return new RunnerError(
    RunnerErrorCode.WorkerInvalid,
    `two worker files for topic ${twin.topic} channel ${twin.channel}: ${first.path} and ${twin.path}; keep one${compiledTwinHint(first.path, twin.path)}`,
  );
}

/**
 * Every worker file under `workersDir`, sorted by topic then channel. A missing folder has none.
 * With `twins: 'skip'`, the second file of a topic and channel is left out (a run of another worker).
 *
 * Errors: RunnerError E_WORKER_INVALID when two files name the same topic and channel
 * (`x_y_worker.ts` beside `x_y_worker.js`), unless skipped.
 */
export function discoverWorkers(workersDir: string, twins: 'refuse' | 'skip' = 'refuse'): WorkerFile[] {
  const scanned = scanWorkers(workersDir);
  if (twins === 'refuse' && scanned.twins.length > 0) throw twinError(scanned.files, scanned.twins[0]!);
  return scanned.files;
}

/** For a `.js` beside the `.ts` of the same name, what made it (tsc without --noEmit), else nothing. */
function compiledTwinHint(first: string, second: string): string {
  const base = (file: string): string => file.slice(0, -extname(file).length);
  const extensions = [extname(first), extname(second)].sort().join(' ');
  if (base(first) !== base(second) || !['.js .ts', '.mjs .mts', '.cjs .cts'].includes(extensions)) return '';
  return ` (a compiled copy, as \`tsc\` writes one beside its source: delete the ${extensions.split(' ')[0]} file, and type-check with \`tsc --noEmit\`)`;
}

/**
 * The worker file for a topic and channel, if there is one. Another worker's second file is no
 * matter here: it is refused when that worker runs.
 * @throws RunnerError E_WORKER_INVALID when two files name this topic and channel.
 */
export function findWorker(workersDir: string, topic: string, channel: string): WorkerFile | undefined {
  const { files, twins } = scanWorkers(workersDir);
  const twin = twins.find((file) => file.topic === topic && file.channel === channel);
  if (twin !== undefined) throw twinError(files, twin);
  return files.find((file) => file.topic === topic && file.channel === channel);
}

/** The worker file for a topic and channel when there is exactly one: undefined for none, and for two still (refused). */
export function soleWorkerFile(workersDir: string, topic: string, channel: string): WorkerFile | undefined {
  try {
    return findWorker(workersDir, topic, channel);
  } catch {
    return undefined;
  }
}
