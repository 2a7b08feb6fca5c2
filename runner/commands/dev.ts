/**
 * `nsqworker dev`: every worker under the workers folder in one process, on the embedded broker,
 * with hot reload on and pretty logs. A new worker file starts its worker; a deleted one stops it;
 * a file that fails to load is reported and retried when it changes.
 */
import type { CAC } from 'cac';
import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/config-file.ts';
import { discoverWorkers, soleWorkerFile, workerFileAt } from '../worker/discover.ts';
import { noWorkersFound, noWorkersYet, workersElsewhere } from '../worker/workers-folder-hints.ts';
import { UsageError } from '../config/flags.ts';
import { brokerSettingNames, embeddedListens, startEmbeddedBroker } from '../ops/embedded.ts';
import { createLogger, type LogLevel } from '../ops/log.ts';
import { parseRunnerSettings, runnerLayers } from '../config/runner-settings.ts';
import { checkConfigWorkers } from '../config/config-workers.ts';
import { EmptyWorkerFiles } from './empty-worker-files.ts';
import { listenOrExplain } from '../ops/address-in-use.ts';
import { takeDevHostsStartedEarly } from './first-host.ts';
import { MisnamedFileWarnings } from './misnamed-files.ts';
import { checkConsoleAddress, CONSOLE_ADDRESS_VARIABLE, DEV_CONSOLE_ADDRESS, startDevConsole } from './dev-console.ts';
import { describeRunningTasks, onShutdownSignal } from '../ops/shutdown.ts';
import { DevSupervisor } from './dev-supervisor.ts';
import { watchProjectSaves } from './watched-start.ts';

interface DevFlags {
  workersDir?: string;
  config?: string;
  logLevel?: string;
  dataPath?: string;
  brokerTcpAddress?: string;
  brokerHttpAddress?: string;
  consoleAddress?: string;
}

async function runDev(flags: DevFlags): Promise<void> {
  const consoleAddress = checkConsoleAddress(flags.consoleAddress, process.env);
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
  const names = brokerSettingNames(base.origins);
  const broker = await listenOrExplain(embeddedListens(names, probe.brokerTcpAddress, probe.brokerHttpAddress), () =>
    startEmbeddedBroker({
      tcpAddress: probe.brokerTcpAddress,
      httpAddress: probe.brokerHttpAddress,
      dataPath: probe.dataPath,
      names,
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
    // A file added with a name that is not a worker's is named, as at dev's start (a helper a failed
    // worker imports tries it again: the project's watch, below).
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
  // Any other file of the project (a helper in workers/lib/, at any depth, or in lib/), and of the
  // workers folder when it lies outside the project: a save tries the failed workers again (a running
  // one reloads by itself, its child watching the files it imports). A worker file is the folder
  // watch's, the config file the config watch's.
  const roots = relative(process.cwd(), resolve(workersDir)).startsWith('..') ? [process.cwd(), resolve(workersDir)] : [process.cwd()];
  const onSave = (path: string): void => void (workerFileAt(workersDir, path) === undefined && supervisor.retryFailed());
  const projectSaves = await Promise.all(roots.map((root) => watchProjectSaves(root, [configFile, probe.dataPath], onSave)));
  await Promise.all([watching, watchingConfig, ...projectSaves.map((saves) => saves.ready)]);

  const found = discoverWorkers(workersDir);
  if (found.length === 0) logger.warn({ workersDir }, noWorkersYet(workersDir));
  misnamed.check();
  for (const file of found) supervisor.start(file);
  void early?.discardRest(); // forked for files that are no worker's (the config names another folder)
  void supervisor.warnMisspeltVariables();

  onShutdownSignal(
    logger,
    async () => {
      await Promise.all([folderWatcher.close(), configWatcher.close(), ...projectSaves.map((saves) => saves.close())]);
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
    // The defaults below are the last resort, as for a run: said, since dev's help cannot show the config's.
    .usage('dev [flags]\n\n--workers-dir, --log-level, --data-path and --broker-*, when not given, take their NSQWORKER_* variable\'s value, then the config file\'s, then the default below.')
    .option('--workers-dir <dir>', 'folder holding the workers (default: workers)')
    .option('--config <file>', 'config file (default: nsqworker.config.ts)')
    .option('--log-level <level>', 'log level (default: info)')
    .option('--data-path <path>', 'data path of the embedded broker (default: .nsqworker)')
    .option('--broker-tcp-address <address>', 'TCP address of the embedded broker (default: 127.0.0.1:4150)')
    .option('--broker-http-address <address>', 'HTTP address of the embedded broker (default: 127.0.0.1:4151)')
    .option('--console-address <address>', `address of the web console (default: ${CONSOLE_ADDRESS_VARIABLE}, then ${DEV_CONSOLE_ADDRESS}; off to skip it)`)
    .action((flags: DevFlags) => runDev(flags));
}
