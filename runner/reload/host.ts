/**
 * The child side of `--watch`: loads the worker's code in a process of its own, runs tasks the
 * parent sends, and answers with their outcomes. The parent keeps the broker, the connections and
 * the dedup queues. A save loads the new code beside the old here (a second 'load': every project
 * file imported afresh, user-code.ts) and swaps to it on 'swap'; once the saves pause, the runner
 * moves the code to a fresh process and this one exits, with whatever the old code left running
 * (load-placement.ts).
 *
 * It warms up first, so that loading a changed worker file costs only the user's own files: the
 * nsqworker package (and the zod it imports, the one a worker's schema uses), tsx registered and
 * run once on a throwaway module, and the log output's formatter.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { clientSecurity } from '../config/client-security.ts';
import type { PublishBody } from '../../client/body.ts';
import { Producer } from '../../client/producer.ts';
import { validateConfig, type NsqworkerConfig } from '../config/config-file.ts';
import { DedupQueue } from '../worker/dedup.ts';
import { createLogger, preloadLogFormat, type LogLevel } from '../ops/log.ts';
import { describeUncaught, loggedUncaught, type Origin } from '../ops/uncaught.ts';
import { childWithFields } from '../worker/log-fields.ts';
import { runTask, type TaskEnvironment } from '../worker/pipeline.ts';
import { workerOptions } from '../config/worker-options.ts';
import { checkConfigWorkers } from '../config/config-workers.ts';
import { onlyNear } from '../../protocol/suggest.ts';
import { discoverWorkers } from '../worker/discover.ts';
import { channelForTask } from '../config/run-names.ts';
import { defaultExportOf } from '../worker/module-exports.ts';
import { LoadSnapshots } from './file-snapshot.ts';
import { optimizerOnOnceStarted } from './start-up-optimizer.ts';
import { freshLoadTookOver } from '../worker/fresh-imports.ts';
import { beginFreshLoad, importUserModule, isProjectFile, onProjectFileLoaded, projectFilesImported, warmUpUserCodeLoader } from '../worker/user-code.ts';
import { workerRuntimeOf } from '../worker/worker-runtime.ts';
import { failsInAnyProcess, locateLoadFailure, missingModuleFiles } from '../worker/load-failure.ts';
import { serializeError, TSX_CACHE_OFF_FOR_HOST, TSX_CACHE_SWITCH, type ChildToParent, type LoadRequest, type ParentToChild } from './protocol.ts';


/**
 * Tells the parent; nothing once it is gone (killed, say, while this child was paused): the
 * 'disconnect' below ends this process, without a stack trace for each message left to send.
 */
function send(message: ChildToParent): void {
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
}

// The parent decides when this process stops: a terminal's Ctrl-C reaches the whole process group.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => process.exit(0));

/** One load of the worker's code: its tasks' environment, and the signal its tasks are given. */
interface Version {
  env: TaskEnvironment;
  abort: AbortController;
  /** Its fresh load's number (user-code.ts), or undefined for the child's first load. */
  load: number | undefined;
}

/** The code tasks run on. */
let current: Version | undefined;

/**
 * An error nothing catches in the worker's code: one line, as a plain run says it (ops/uncaught.ts),
 * not Node's raw stack; then this child exits, and the runner loads the code again in a fresh one
 * and says so ("worker host exited unexpectedly"). What ran here is delivered again.
 */
function exitOnUncaught(error: unknown, origin: Origin): void {
  const log = current?.env.log ?? createLogger('info');
  log.error({ err: loggedUncaught(error, log), origin }, `${describeUncaught(error, origin)}; the worker's process exits, and the runner loads the code again`);
  process.exit(1);
}
process.on('uncaughtException', (error) => exitOnUncaught(error, 'uncaughtException'));
process.on('unhandledRejection', (reason) => exitOnUncaught(reason, 'unhandledRejection'));
/** Code loaded beside {@link current}, until the parent's 'swap' makes it current. */
let pending: Version | undefined;
/** Tells the parent of the files the loaded code imports later; a failed load beside it sets it back. */
let tellLaterImports: ((path: string) => void) | undefined;
let dedup = new Map<string, DedupQueue>();
let dedupQueueSize = 0;
let producer: Producer | undefined;

function replaceDedup(keys: Record<string, string[]>): void {
  dedup = new Map(
    Object.entries(keys).map(([task, list]) => {
      const queue = new DedupQueue(dedupQueueSize);
      for (const key of list) queue.add(key);
      return [task, queue];
    }),
  );
}

/**
 * The config file: this process loads code once, so the import is fresh, and the `nsqworker` it
 * imports is the copy already warm here. A file that throws keeps its own stack, which names its line.
 */
async function importConfig(path: string | undefined, load: number | undefined): Promise<NsqworkerConfig> {
  // The default config file is watched before it exists: until it is created, there is none.
  if (path === undefined || !existsSync(path)) return {};
  return validateConfig(defaultExportOf((await importUserModule(path, { load })).exports), path);
}

async function load(request: LoadRequest, snapshots: LoadSnapshots): Promise<void> {
  // Code loaded beside that never took over (a newer save superseded it) closes as the next loads.
  if (pending !== undefined) void closeVersion(pending, 'worker code superseded by a newer save');
  pending = undefined;
  // Code loaded here before is cached by Node: a load beside it imports every project file afresh,
  // the config's and the worker's as one load (a module both import is one module).
  const load = current === undefined ? undefined : beginFreshLoad();
  // The config file loads beside the worker (each import waits on tsx's thread); the worker's
  // failure, if both fail, is the one reported.
  const configLoading = importConfig(request.configPath, load);
  configLoading.catch(() => {});
  const moduleExports = (await importUserModule(request.file, { load })).exports;
  const runtime = workerRuntimeOf(moduleExports, request.file);
  const config = await configLoading;
  // This worker's `workers` key saved misspelt is the config's fault, as at start, not "required and
  // not given". Only keys a typo from its own: another worker's key (dev) is that worker's to judge,
  // and one naming a worker whose file is not written yet would refuse this reload until saved again.
  const ownKey = request.workerKey;
  const nearOwn = Object.entries(config.workers ?? {}).filter(([key]) => key !== ownKey && onlyNear(key, [ownKey]) === ownKey);
  const workersDir = dirname(dirname(request.file));
  if (nearOwn.length > 0) checkConfigWorkers({ workers: Object.fromEntries(nearOwn) }, request.configPath, discoverWorkers(workersDir), workersDir);
  const options = workerOptions(runtime, config, request.workerKey, request.env, request.flags, request.configPath);
  const log = childWithFields(createLogger(request.logLevel as LogLevel), { topic: request.topic });
  dedupQueueSize = request.dedupQueueSize;
  replaceDedup(request.dedup);
  const publishAddresses = request.publishAddresses;
  const abort = new AbortController();
  const env: TaskEnvironment = {
    topic: request.topic,
    // This code's own tasks name the channels: a reload may have changed them.
    channelOf: (task) => channelForTask(request.channel, task, runtime.taskNames.length),
    runtime,
    instance: runtime.instantiate(options, childWithFields(log, { channel: request.channel })),
    options,
    log,
    signal: abort.signal,
    publish: (topic: string, body: PublishBody) => {
      producer ??= new Producer({ nsqdTcpAddresses: publishAddresses, ...clientSecurity(request.security) });
      return producer.publish(topic, body);
    },
    seen: (task, key, scope) => dedup.get(task)?.has(key, scope) ?? false,
  };
  if (current === undefined) current = { env, abort, load };
  else pending = { env, abort, load };
  const { workers: _workers, ...settings } = config;
  send({ t: 'loaded', taskNames: [...runtime.taskNames], files: projectFilesImported(request.file), snapshots: snapshots.take(), settings });
  // Files imported later (an import() in a task) are watched too: told once per event-loop turn.
  let telling: NodeJS.Immediate | undefined;
  tellLaterImports = (path) => {
    if (!snapshots.loaded(path)) return;
    telling ??= setImmediate(() => {
      telling = undefined;
      send({ t: 'files', snapshots: snapshots.take() });
    });
  };
  onProjectFileLoaded(tellLaterImports);
}

async function run(message: Extract<ParentToChild, { t: 'run' }>): Promise<void> {
  const { env } = current!;
  const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
  try {
    const outcome = await runTask(env, message.task, {
      id: message.id,
      nsqdAddress: message.nsqdAddress,
      attempts: message.attempts,
      timestamp: message.timestamp,
      body,
      touch: () => send({ t: 'touch', seq: message.seq }),
    });
    if (outcome.kind === 'done') {
      // A task added by this reload has no queue yet in the snapshot this child started from.
      let queue = dedup.get(message.task);
      if (queue === undefined) dedup.set(message.task, (queue = new DedupQueue(dedupQueueSize)));
      queue.add(outcome.key, outcome.scope);
    }
    send({ t: 'result', seq: message.seq, outcome });
  } catch (error) {
    send({ t: 'failed', seq: message.seq, error: serializeError(error) });
  }
}

/**
 * The code loaded beside becomes current; the old one's close hook runs now (the parent swaps once
 * none of its tasks runs), and what it throws is logged: the new code is in, nothing to undo.
 */
async function swap(): Promise<void> {
  const old = current!;
  current = pending!;
  pending = undefined;
  if (current.load !== undefined) freshLoadTookOver(current.load);
  await closeVersion(old, 'worker code replaced');
}

/** Raises the tasks' AbortSignal of code no longer used and runs its close hook; what that throws is logged. */
async function closeVersion(version: Version, reason: string): Promise<void> {
  version.abort.abort(new Error(reason));
  try {
    await version.env.instance.close();
  } catch (error) {
    version.env.log.error({ err: error }, "the replaced worker code's close hook failed");
  }
}

async function close(): Promise<void> {
  const versions = [current, pending].filter((version) => version !== undefined);
  for (const { abort } of versions) abort.abort(new Error('worker code replaced or shutting down'));
  try {
    await Promise.all(versions.map(({ env }) => env.instance.close()));
  } finally {
    await producer?.close();
    send({ t: 'closed' });
    process.disconnect?.();
  }
}

process.on('message', (message: ParentToChild) => {
  switch (message.t) {
    case 'load': {
      // Each file the load reads that the runner does not watch yet is snapshot as it is read.
      const snapshots = new LoadSnapshots(new Set(message.watched));
      onProjectFileLoaded((path) => void snapshots.loaded(path));
      load(message, snapshots).catch((error: unknown) => {
        const location = locateLoadFailure(error, { workerFile: message.file, configPath: message.configPath });
        // With the files an import names that are not written yet: watched, their creation reloads.
        const files = [...projectFilesImported(message.file), ...missingModuleFiles(error, location.file)];
        if (isProjectFile(location.file) && !files.includes(location.file)) files.push(location.file);
        // Each as it is now, unless the load took it already: tsx's thread tells of an ES module's
        // import by message, which may come after the failure, and without a snapshot the runner
        // cannot tell a fix saved before its watch on the file starts (project-watcher.ts, checkLoaded).
        for (const file of files) snapshots.loaded(file);
        send({ t: 'load-failed', error: serializeError(error), location, failsAnywhere: failsInAnyProcess(error), files, snapshots: snapshots.take() });
        // The code running before this load goes on, and its later imports are told again.
        onProjectFileLoaded(tellLaterImports);
      });
      return;
    }
    case 'run':
      void run(message);
      return;
    case 'dedup':
      replaceDedup(message.dedup);
      return;
    case 'swap':
      void swap();
      return;
    case 'abort':
      current?.abort.abort(new Error('worker shutting down'));
      return;
    case 'close':
      void close();
      return;
  }
});

// Warm up: the package every worker imports, tsx, and the pretty printer a terminal asks for.
await import('../../index.ts');
// The runner names the worker's module system and the folder for the throwaway module that warms tsx up.
await warmUpUserCodeLoader(process.argv[3], process.argv[2] === 'commonjs' ? 'commonjs' : 'module');
// tsx has read its cache switch (its hooks thread took a copy of the environment as it started;
// a CommonJS worker's, started only once its code calls import(), keeps the cache on): the
// runner's value goes, the user's stays (host-process.ts).
if (process.env[TSX_CACHE_SWITCH] === TSX_CACHE_OFF_FOR_HOST) delete process.env[TSX_CACHE_SWITCH];
preloadLogFormat();
// Warm: the optimizer on before any of the user's code runs.
optimizerOnOnceStarted();
send({ t: 'warm' });
