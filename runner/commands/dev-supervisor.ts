/**
 * `dev`'s workers: each worker file's run, started as the file appears (or dev starts), stopped as
 * it goes, retried when a file that failed to load (or the config file) changes; one worker per
 * topic and channel, a second file for it refused. A start that takes long is said, as nothing else
 * would say it (a module whose top level waits on a connection that never answers).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { within } from '../../client/within.ts';
import { DEFAULT_CONFIG_FILE, displayPath } from '../config/config-file.ts';
import type { WorkerFile } from '../worker/discover.ts';
import type { EmbeddedBroker } from '../ops/embedded.ts';
import { loadWorker, SLOW_LOAD_MS, SLOW_LOAD_QUESTION } from '../worker/loader.ts';
import { beginFreshLoad } from '../worker/user-code.ts';
import { checkRunNames } from '../config/run-names.ts';
import { parseRunnerSettings } from '../config/runner-settings.ts';
import { MisspeltVariables } from './dev-variables.ts';
import { fieldsOf } from '../config/schema-flags.ts';
import type { LayeredValues } from '../config/layered-values.ts';
import { locateLoadFailure } from '../worker/load-failure.ts';
import { HostLoadError } from '../reload/host-process.ts';
import { channelCurl, NsqdHttp } from '../ops/nsqd-http.ts';
import { isEphemeralName } from '../../protocol/names.ts';
import { startRun, type RunningWorker } from './run.ts';
import type { EarlyDevHosts } from './first-host.ts';
import { formatDurationMs } from '../../protocol/duration.ts';

export class DevSupervisor {
  private readonly running = new Map<string, Promise<RunningWorker | undefined>>();
  /** Judges the NSQWORKER_* variables, knowing those of the workers' options as each worker loads. */
  private readonly variables: MisspeltVariables;
  /** Each worker file started, by path: what a retry starts again. */
  private readonly files = new Map<string, WorkerFile>();
  /** The workers running now, as their starts resolved: what a stop still waits for is read from them. */
  private readonly started = new Set<RunningWorker>();
  /** Worker files whose module this process is loading now. */
  private readonly loading = new Set<string>();
  /** Second files of a running worker, refused: said once, not again at each save (a write's add and change). */
  private readonly refused = new Set<string>();

  constructor(
    private readonly base: LayeredValues,
    private readonly configPath: string | undefined,
    private readonly broker: EmbeddedBroker,
    private readonly logger: Logger,
    private readonly early: EarlyDevHosts | undefined, // forked as dev started (first-host.ts)
  ) {
    this.variables = new MisspeltVariables(logger);
  }

  /** Starts `file`'s worker; `retry`: after a failed start, every project file it imports read again. */
  start(file: WorkerFile, retry = false): void {
    if (this.running.has(file.path)) return;
    // A second file for a worker that runs (worker.js beside worker.ts): refused, as at dev's start.
    const twin = [...this.running.keys()].map((path) => this.files.get(path)!).find((other) => other.topic === file.topic && other.channel === file.channel);
    if (twin !== undefined) {
      if (!this.refused.has(file.path)) this.logger.error({ worker: `${file.topic}/${file.channel}`, file: file.path, twin: twin.path }, `two worker files for topic ${file.topic} channel ${file.channel}: ${twin.path} and ${file.path}; keep one (the second is not started)`);
      this.refused.add(file.path);
      return;
    }
    this.refused.delete(file.path);
    this.files.set(file.path, file);
    const starting = this.startWorker(file, retry);
    void starting.then((worker) => worker !== undefined && this.started.add(worker));
    this.running.set(file.path, starting);
  }

  /**
   * Stops a worker (file deleted), or forgets one that failed to load so a change retries it.
   * `successor`: the worker's other file, refused beside this one, which starts next and takes the channels.
   */
  async stop(path: string, successor?: WorkerFile): Promise<void> {
    this.refused.delete(path);
    const entry = this.running.get(path);
    this.running.delete(path);
    const worker = await entry;
    if (worker !== undefined) {
      const { topicPrefix, topic: name, channel } = worker.settings;
      const topic = topicPrefix + name;
      const key = `${name}/${channel}`;
      // nsqd deletes an ephemeral channel with its last client: only the others stay.
      const channels = [...new Set(worker.channels.values())].filter((left) => !isEphemeralName(left));
      await worker.stop();
      this.started.delete(worker);
      // The file came back while the worker stopped (a branch switch): a new worker has the channels.
      if (this.running.has(path)) {
        this.logger.info({ worker: key, file: path }, `worker ${key} stopped: its file was removed and is back`);
        return;
      }
      if (channels.length === 0 || successor !== undefined) {
        const next = successor === undefined ? '' : `; ${successor.path} runs it now`;
        this.logger.info({ worker: key, file: path }, `worker ${key} stopped: its file was removed${next}`);
        return;
      }
      // Unlike a task removed from a running worker, the worker's channels stay: a file deleted for a
      // moment (a branch switch) brings them back with their messages. Said, or they fill unseen.
      const calls = channels.map((left) => channelCurl(new NsqdHttp(this.broker.httpAddress).baseUrl, 'delete', topic, left));
      this.logger.warn(
        { worker: key, file: path, topic, channels },
        `worker ${key} stopped: its file was removed; its channel${channels.length === 1 ? '' : 's'} ${channels.join(', ')} on topic ${topic} stay${channels.length === 1 ? 's' : ''} and keep${channels.length === 1 ? 's' : ''} a copy of every message published to it, for the worker to find when its file is back; if it is not coming back, delete ${channels.length === 1 ? 'it' : 'them'} with: ${calls.join(' and ')}`,
      );
    }
  }

  /**
   * The config file, or another file of the project (a helper they import), was written: each worker
   * that failed to start gets another try (the fix may be there); a running one reloads by itself, its child watching the file. Each
   * worker is judged on its own: one still starting (a module awaiting a database) holds no other up.
   */
  async retryFailed(): Promise<void> {
    await Promise.all([...this.running.keys()].map((path) => this.retryIfFailed(this.files.get(path)!)));
  }

  /** A file changed: a worker that failed to load gets another try; a running one reloads by itself. */
  async retryIfFailed(file: WorkerFile): Promise<void> {
    const entry = this.running.get(file.path);
    if (entry !== undefined && (await entry) !== undefined) return;
    // Retried meanwhile (the config and the file saved together), stopped, or gone: not again.
    if (this.running.get(file.path) !== entry || !existsSync(file.path)) return;
    this.running.delete(file.path);
    this.start(file, true);
  }

  /** Each NSQWORKER_* variable a typo away from one read, once the first workers loaded (dev-variables.ts). */
  warnMisspeltVariables(): Promise<void> {
    return this.variables.warnAfter(Promise.all(this.running.values()));
  }

  /** Each worker's tasks with messages their code is handling now, keyed `<topic>/<channel> <task>`. */
  runningTasks(): Record<string, number> {
    const running: Record<string, number> = {};
    for (const worker of this.started) {
      for (const [task, count] of Object.entries(worker.runningTasks())) running[`${worker.settings.topic}/${worker.settings.channel} ${task}`] = count;
    }
    return running;
  }

  /**
   * Stops every worker; a start still pending after `timeoutMs` is left to the exit, and one whose
   * module is still loading (a top level that never finishes) is not waited for: it holds nothing.
   */
  async stopAll(timeoutMs: number): Promise<void> {
    const entries = [...this.running].filter(([path]) => !this.loading.has(path)).map(([, entry]) => entry);
    this.running.clear();
    await Promise.all(entries.map(async (entry) => (await within(entry, timeoutMs))?.stop()));
  }

  private async startWorker(file: WorkerFile, retry: boolean): Promise<RunningWorker | undefined> {
    const key = `${file.topic}/${file.channel}`;
    const firstHost = this.early?.take(file.path);
    try {
      this.loading.add(file.path);
      // Said in the log, as dev says everything: a top level that never finishes keeps nothing else from running.
      const onSlow = (): void => void this.logger.warn({ worker: key }, `worker ${key} is still starting after ${formatDurationMs(SLOW_LOAD_MS)}: ${SLOW_LOAD_QUESTION}`);
      // A retry reads the helpers it imports again too (a fix may be in one); a first start shares them
      // with the workers loaded before it, as a run's process would.
      const { runtime } = await loadWorker(file, retry ? { load: beginFreshLoad(), onSlow } : { fresh: true, onSlow }).finally(() => this.loading.delete(file.path));
      this.variables.read(runtime.optionsSchema === undefined ? [] : fieldsOf(runtime.optionsSchema).map((field) => field.env));
      const settings = parseRunnerSettings({ values: { ...this.base.values, topic: file.topic, channel: file.channel }, origins: this.base.origins });
      checkRunNames(settings, runtime.taskNames);
      // Options are merged again by the worker's child on every load (flags: none in dev).
      const plan = { file, runtime, settings, origins: this.base.origins, options: {}, flags: {}, configPath: this.configPath, env: process.env };
      return await startRun(plan, { logger: this.logger, sharedBroker: this.broker, firstHost });
    } catch (error) {
      await firstHost?.close(0);
      // The file, line, column and reason, as a reload failure says them; the stack only at debug.
      // A worker's child located its own failure, where its error and code were: its word is taken.
      const location =
        error instanceof HostLoadError && error.location !== undefined
          ? error.location
          : locateLoadFailure((error as Error).cause ?? error, { workerFile: file.path, configPath: this.configPath });
      const where = `${location.file}${location.line === undefined ? '' : `:${location.line}`}${location.column === undefined ? '' : `:${location.column}`}`;
      const detail = this.logger.isLevelEnabled('debug') ? { err: error } : {};
      // dev takes no worker flags: the options' other two sources are said where a run's error names the flag.
      const configFile = displayPath(this.configPath ?? resolve(DEFAULT_CONFIG_FILE));
      const optionsFrom = location.reason.startsWith('invalid options of worker') ? ` (under dev, give worker options in ${configFile} under workers['${key}'], or as NSQWORKER_* variables)` : '';
      this.logger.error({ worker: key, ...detail, ...location }, `worker ${key} did not start: ${where}: ${location.reason}${optionsFrom}; it is retried when its file or another file of the project changes`);
      return undefined;
    }
  }
}
