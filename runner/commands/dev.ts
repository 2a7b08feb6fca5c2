/**
 * `nsqworker dev`: every worker under the workers folder in one process, on the embedded broker,
 * with hot reload on and pretty logs. A new worker file starts its worker; a deleted one stops it;
 * a file that fails to load is reported and retried when it changes.
 */
import type { CAC } from 'cac';
import { existsSync } from 'node:fs';
import { within } from '../../client/within.ts';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_CONFIG_FILE, displayPath, loadConfig } from '../config/config-file.ts';
import { discoverWorkers, soleWorkerFile, workerFileAt, type WorkerFile } from '../worker/discover.ts';
import { noWorkersFound, noWorkersYet, workersElsewhere } from '../worker/workers-folder-hints.ts';
import { UsageError } from '../config/flags.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../ops/embedded.ts';
import { loadWorker } from '../worker/loader.ts';
import { createLogger, type LogLevel } from '../ops/log.ts';
import { checkRunNames } from '../config/run-names.ts';
import { parseRunnerSettings, runnerLayers } from '../config/runner-settings.ts';
import { MisspeltVariables } from './dev-variables.ts';
import { fieldsOf } from '../config/schema-flags.ts';
import type { LayeredValues } from '../config/layered-values.ts';
import { checkConfigWorkers } from '../config/config-workers.ts';
import { EmptyWorkerFiles } from './empty-worker-files.ts';
import { listenOrExplain } from '../ops/address-in-use.ts';
import { locateLoadFailure } from '../worker/load-failure.ts';
import { HostLoadError } from '../reload/host-process.ts';
import { channelCurl, NsqdHttp } from '../ops/nsqd-http.ts';
import { isEphemeralName } from '../../protocol/names.ts';
import { startRun, type RunningWorker } from './run.ts';
import { takeDevHostsStartedEarly, type EarlyDevHosts } from './first-host.ts';
import { MisnamedFileWarnings } from './misnamed-files.ts';
import { checkConsoleAddress, DEV_CONSOLE_ADDRESS, startDevConsole } from './dev-console.ts';
import { describeRunningTasks, onShutdownSignal } from '../ops/shutdown.ts';

interface DevFlags {
  workersDir?: string;
  config?: string;
  logLevel?: string;
  dataPath?: string;
  brokerTcpAddress?: string;
  brokerHttpAddress?: string;
  consoleAddress?: string;
}

class DevSupervisor {
  private readonly running = new Map<string, Promise<RunningWorker | undefined>>();
  /** Judges the NSQWORKER_* variables, knowing those of the workers' options as each worker loads. */
  private readonly variables: MisspeltVariables;
  /** Each worker file started, by path: what a retry starts again. */
  private readonly files = new Map<string, WorkerFile>();
  /** The workers running now, as their starts resolved: what a stop still waits for is read from them. */
  private readonly started = new Set<RunningWorker>();
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

  start(file: WorkerFile): void {
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
    const starting = this.startWorker(file);
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
   * The config file was written: each worker that failed to start gets another try (the fix for an
   * option it requires is there); a running one reloads by itself, its child watching the file. Each
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
    this.start(file);
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

  /** Stops every worker; a start still pending after `timeoutMs` (a module that never loads) is left to the exit. */
  async stopAll(timeoutMs: number): Promise<void> {
    const entries = [...this.running.values()];
    this.running.clear();
    await Promise.all(entries.map(async (entry) => (await within(entry, timeoutMs))?.stop()));
  }

  private async startWorker(file: WorkerFile): Promise<RunningWorker | undefined> {
    const key = `${file.topic}/${file.channel}`;
    const firstHost = this.early?.take(file.path);
    try {
      const { runtime } = await loadWorker(file, { fresh: true });
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
      this.logger.error({ worker: key, ...detail, ...location }, `worker ${key} did not start: ${where}: ${location.reason}${optionsFrom}; it is retried when its file or the config file changes`);
      return undefined;
    }
  }
}

async function runDev(flags: DevFlags): Promise<void> {
  const consoleAddress = checkConsoleAddress(flags.consoleAddress ?? DEV_CONSOLE_ADDRESS);
  const { config, path: configPath } = await loadConfig(flags.config ?? process.env.NSQWORKER_CONFIG);
  const fromFlags: Record<string, unknown> = {};
  for (const key of ['workersDir', 'logLevel', 'dataPath', 'brokerTcpAddress', 'brokerHttpAddress'] as const) {
    if (flags[key] !== undefined) fromFlags[key] = String(flags[key]);
  }
  // One process serves every worker: reloading is always on, and there is no per-worker health port.
  // Per-worker option values stay in the config; each worker's child reads its own.
  const base = runnerLayers(config, configPath, process.env, fromFlags, { watch: true, healthAddress: '' });
  const probe = parseRunnerSettings({ values: { ...base.values, topic: 'dev', channel: 'dev' }, origins: base.origins });
  // One rule for every line, the runner's and the tasks': pretty on a terminal, JSON otherwise.
  // The workers in a folder a typo away or in the project above (dev run in a subfolder): waiting here
  // for a folder that will not fill, with the broker's data in the wrong place, helps no one.
  if (workersElsewhere(probe.workersDir)) throw new UsageError(noWorkersFound(probe.workersDir, 'nsqworker dev'));
  const logger = createLogger(probe.logLevel as LogLevel);
  for (const warning of checkConfigWorkers(config, configPath, discoverWorkers(probe.workersDir), probe.workersDir)) logger.warn(warning);
  const listens = [
    { flag: '--broker-tcp-address', address: probe.brokerTcpAddress },
    { flag: '--broker-http-address', address: probe.brokerHttpAddress },
  ];
  const broker = await listenOrExplain(listens, () =>
    startEmbeddedBroker({
      tcpAddress: probe.brokerTcpAddress,
      httpAddress: probe.brokerHttpAddress,
      dataPath: probe.dataPath,
      logger,
    }),
  );
  const webConsole = await startDevConsole(consoleAddress, broker.httpAddress, logger);
  const early = takeDevHostsStartedEarly();
  const supervisor = new DevSupervisor(base, configPath, broker, logger, early);
  const workersDir = probe.workersDir;

  // New and removed worker files; changes inside a running worker are its own watcher's business.
  // The watch is up before the folder is read, so a file added meanwhile is seen by one or the other.
  const { watch } = await import('chokidar');
  // alwaysStat: each add and change comes with the file's size (an empty new file waits, below).
  const folderWatcher = watch(resolve(workersDir), { ignoreInitial: true, depth: 1, alwaysStat: true });
  const watching = new Promise<void>((resolveReady) => folderWatcher.once('ready', () => resolveReady()));
  const createdEmpty = new EmptyWorkerFiles((file) => void supervisor.retryIfFailed(file), logger);
  const misnamed = new MisnamedFileWarnings(workersDir, logger);
  folderWatcher.on('add', (path, stats) => {
    const file = workerFileAt(workersDir, path);
    // A file added with a name that is not a worker's is named, as at dev's start.
    if (file === undefined) misnamed.check(path, stats?.size === 0);
    else if (stats?.size === 0) createdEmpty.wait(file);
    else supervisor.start(file);
  });
  folderWatcher.on('change', (path, stats) => {
    const file = workerFileAt(workersDir, path);
    if (file === undefined) return misnamed.check(path, stats?.size === 0);
    if (createdEmpty.changed(file)) return;
    // Between a save's truncate and write, whose 'change' chokidar may drop (5 ms apart): as if created empty.
    if (stats?.size === 0) createdEmpty.wait(file);
    else void supervisor.retryIfFailed(file);
  });
  folderWatcher.on('unlink', (path) => {
    createdEmpty.forget(resolve(path));
    misnamed.forget(path);
    const file = workerFileAt(workersDir, path);
    if (file === undefined) return;
    // A file refused as the second of its worker's starts once the first is gone.
    const left = soleWorkerFile(workersDir, file.topic, file.channel);
    void supervisor.stop(file.path, left).then(() => left !== undefined && existsSync(left.path) && supervisor.start(left));
  });
  // The config file, there or not yet: writing it retries the workers that failed to start.
  const configFile = configPath ?? resolve(DEFAULT_CONFIG_FILE);
  const configWatcher = watch(dirname(configFile), { ignoreInitial: true, depth: 0 });
  const watchingConfig = new Promise<void>((resolveReady) => configWatcher.once('ready', () => resolveReady()));
  configWatcher.on('all', (event, path) => {
    if ((event === 'add' || event === 'change') && resolve(path) === configFile) void supervisor.retryFailed();
  });
  await Promise.all([watching, watchingConfig]);

  const found = discoverWorkers(workersDir);
  if (found.length === 0) logger.warn({ workersDir }, noWorkersYet(workersDir));
  misnamed.check();
  for (const file of found) supervisor.start(file);
  void early?.discardRest(); // forked for files that are no worker's (the config names another folder)
  void supervisor.warnMisspeltVariables();

  onShutdownSignal(
    logger,
    async () => {
      await Promise.all([folderWatcher.close(), configWatcher.close()]);
      await supervisor.stopAll(probe.shutdownTimeoutMs);
      await webConsole?.close();
      await broker.close();
      logger.info('dev stopped');
    },
    {
      beforeForcedExit: () => broker.handle?.nsqd.persistAndClose(),
      stillRunning: () => describeRunningTasks(supervisor.runningTasks(), probe.shutdownTimeoutMs),
    },
  );
}

export function registerDevCommand(cli: CAC): void {
  cli
    .command('dev', 'Run every worker under the workers folder on the embedded broker, reloading on change')
    .option('--workers-dir <dir>', 'folder holding the workers (default: workers)')
    .option('--config <file>', 'config file (default: nsqworker.config.ts)')
    .option('--log-level <level>', 'log level (default: info)')
    .option('--data-path <path>', 'data path of the embedded broker (default: .nsqworker)')
    .option('--broker-tcp-address <address>', 'TCP address of the embedded broker (default: 127.0.0.1:4150)')
    .option('--broker-http-address <address>', 'HTTP address of the embedded broker (default: 127.0.0.1:4151)')
    .option('--console-address <address>', `address of the web console (default: ${DEV_CONSOLE_ADDRESS}; off to skip it)`)
    .action((flags: DevFlags) => runDev(flags));
}
