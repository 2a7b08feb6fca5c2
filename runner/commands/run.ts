/**
 * `nsqworker --topic T --channel C`: run one worker. run-plan.ts works out what to run; this starts
 * it — the embedded broker or the remote endpoints, the health server, the executor (in-process, or
 * a reloadable child under --watch), the binding — and stops it in reverse order.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_CONFIG_FILE, displayPath } from '../config/config-file.ts';
import { bindWorker } from '../ops/bind.ts';
import { connectEndpoints, type Connected } from '../ops/connect.ts';
import { wrongNsqdPort } from '../ops/wrong-port.ts';
import { createTaskChannels, type EmbeddedBroker } from '../ops/embedded.ts';
import { watchJoinedBroker } from '../ops/embedded-takeover.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { InProcessExecutor } from '../ops/executor.ts';
import { listenHealthServer, type HealthServer } from '../ops/health.ts';
import { healthAddressBeforeConfig, listenEarly } from '../ops/early-health.ts';
import { createLogger } from '../ops/log.ts';
import type { WorkerMetrics } from '../ops/metrics.ts';
import { RunnerSettingsChanges } from '../reload/settings-change.ts';
import { planRun, WatchedLoadFailure, type RunPlan } from '../run-plan.ts';
import { waitForFix } from './watched-start.ts';
import { beginFreshLoad } from '../worker/user-code.ts';
import { FirstHost, takeFirstHostStartedEarly } from './first-host.ts';
import type { HostProcess } from '../reload/host-process.ts';
import { MisnamedFileWarnings } from './misnamed-files.ts';
import { clientSecurity, securitySettingsOf } from '../config/client-security.ts';
import type { RunSettings } from '../config/settings.ts';
import { describeRunningTasks, onShutdownSignal, startHoldingSignals } from '../ops/shutdown.ts';
import { stopOnUncaughtError } from '../ops/uncaught.ts';
import { exitOnceWritten } from '../one-shot-exit.ts';
import { finishedAndRequeued, stopSummary } from '../ops/task-counters.ts';
import { listenOrExplain, type ListenFlag } from '../ops/address-in-use.ts';

export interface RunningWorker {
  settings: RunSettings;
  logger: Logger;
  /** The embedded broker this run started (or joined), if any: after a takeover, the new one. */
  readonly embedded: EmbeddedBroker | undefined;
  /** Settles when the worker cannot carry on (the broker it joined stopped, see embedded-takeover.ts). */
  readonly fatal: Promise<RunnerError>;
  /** With --health-address: the metrics and the server of /healthz and /metrics. */
  metrics: WorkerMetrics | undefined;
  health: HealthServer | undefined;
  /** Each task's channel (task name → channel name), as consumed now. */
  readonly channels: ReadonlyMap<string, string>;
  /** Each task with messages its code is handling now, and how many (BoundWorker.runningTasks). */
  runningTasks(): Record<string, number>;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** A broker shared by several workers (`dev`): used, not started, and left running on stop. */
  sharedBroker?: EmbeddedBroker;
  /** The health server, already listening on settings.healthAddress (answering `starting`). */
  health?: HealthServer;
  /** Under --watch: the first child, forked before the plan was made (CodeLoader.spawnFirst). */
  firstHost?: HostProcess;
  /** Aborted by a signal during the start: a wait for lookupd's first nsqd ends, and nothing runs. */
  stopWaiting?: AbortSignal;
}

/** Starts the planned worker; undefined when `stopWaiting` ended the start before anything ran. */
export async function startRun(plan: RunPlan, startOptions: StartOptions = {}): Promise<RunningWorker | undefined> {
  const { file, runtime, settings } = plan;
  const logger = startOptions.logger ?? createLogger(settings.logLevel);
  // dev says it once for every worker; a single run says it at its start.
  if (startOptions.sharedBroker === undefined) new MisnamedFileWarnings(settings.workersDir, logger).check();
  for (const warning of plan.startWarnings ?? []) logger.warn(warning);
  // Up before the broker connections, so /healthz answers 503 while the worker starts.
  // prom-client is loaded only when metrics are served (--health-address).
  const metrics =
    settings.healthAddress === ''
      ? undefined
      : new (await import('../ops/metrics.ts')).WorkerMetrics({ topic: settings.topic, channel: settings.channel });
  const health =
    metrics === undefined ? undefined : (startOptions.health ?? (await listenOrExplain(healthListens(settings.healthAddress), () => listenHealthServer(settings.healthAddress))));
  if (metrics !== undefined) health?.serve(metrics, logger);
  let connected: Connected | undefined;
  try {
    connected = await connectEndpoints(plan, logger, startOptions.sharedBroker, startOptions.stopWaiting);
  } catch (error) {
    await health?.close();
    throw error;
  }
  if (connected === undefined) {
    await health?.close();
    await startOptions.firstHost?.close(0);
    return undefined;
  }
  const { endpoints, started: embedded } = connected;
  const workerKey = `${file.topic}/${file.channel}`;
  let failed: (error: RunnerError) => void = () => {};
  const fatal = new Promise<RunnerError>((resolve) => (failed = resolve));
  let wrongPort = false;
  const bound = await bindWorker({
    settings,
    ...(health === undefined ? {} : { healthAddress: health.address }),
    taskNames: runtime.taskNames,
    createExecutor: async (deps) => {
      if (!settings.watch) return new InProcessExecutor({ ...deps, runtime, options: plan.options });
      // Only --watch needs the reloading executor: loaded on use.
      const { ReloadingExecutor } = await import('../reload/reloading-executor.ts');
      const log = startOptions.sharedBroker === undefined ? logger : logger.child({ worker: workerKey });
      // Watched even before it exists: a config file created after the start applies on reload.
      const configPath = plan.configPath ?? resolve(DEFAULT_CONFIG_FILE);
      const changes = new RunnerSettingsChanges(settings, plan.origins, displayPath(configPath), deps.setMaxInFlight, log);
      return ReloadingExecutor.start(
        {
          taskNames: runtime.taskNames,
          deps,
          request: {
            file: file.path,
            workerKey,
            configPath,
            flags: plan.flags,
            env: { ...plan.env },
            logLevel: settings.logLevel,
            dedupQueueSize: settings.dedupQueueSize,
            security: securitySettingsOf(settings),
          },
          publishAddresses: endpoints.publishAddresses,
          workersDir: settings.workersDir,
          watch: true,
          // dev's workers share its broker.
          stopsOnRemoval: startOptions.sharedBroker !== undefined,
          log,
          events: {
            reloaded: (info) => {
              metrics?.recordReload('applied');
              changes.configLoaded(info.settings);
            },
            reloadFailed: () => metrics?.recordReload('failed'),
          },
        },
        startOptions.firstHost,
      );
    },
    endpoints,
    logger,
    metrics,
    prepareNsqd: connected.prepareNsqd,
    // A task removed on reload leaves its channel: deleted under dev, named with the call elsewhere.
    channelCleanup: { httpAddressOf: connected.httpAddressOf, createAt: connected.embeddedHttpAddress, deleteRemoved: startOptions.sharedBroker !== undefined },
    onConsumerError: (error) => {
      if (wrongPort || wrongNsqdPort(error, settings.nsqdTcpAddresses) === undefined) return;
      wrongPort = true;
      const wrong = new RunnerError(RunnerErrorCode.Usage, `--nsqd-tcp-address ${error.message}; stopping`, { cause: error });
      logger.error({ code: wrong.code }, wrong.message);
      failed(wrong);
    },
  });
  logger.info(
    { worker: workerKey, topic: settings.topicPrefix + settings.topic, channels: Object.fromEntries(bound.channels), file: file.path },
    `worker ${workerKey} running: tasks ${runtime.taskNames.join(', ')}`,
  );
  // A joined broker (another worker's) may stop before this worker does: then it takes its place.
  const watch =
    embedded?.joined === undefined
      ? undefined
      : watchJoinedBroker(
          {
            consumers: bound.consumers,
            createChannels: (broker) =>
              createTaskChannels(broker, { topic: settings.topicPrefix + settings.topic, workerChannel: settings.channel, channels: [...bound.channels.values()] }, logger),
          },
          {
            joined: embedded,
            brokerTcpAddress: settings.brokerTcpAddress,
            brokerHttpAddress: settings.brokerHttpAddress,
            dataPath: settings.dataPath,
            logger,
            onFatal: (error) => {
              logger.error({ code: error.code }, error.message);
              failed(error);
            },
          },
        );
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // /healthz answers 503 from the first signal on; it closes last, so the drain can be watched.
      metrics?.setDraining();
      try {
        const before = finishedAndRequeued(bound.counters);
        await watch?.stop();
        await bound.close();
        await (watch?.current ?? embedded)?.close();
        logger.info({ worker: workerKey, ...stopSummary(before, finishedAndRequeued(bound.counters)) }, 'worker stopped');
      } finally {
        await health?.close();
      }
    })();
    return stopping;
  };
  return {
    settings,
    logger,
    get embedded() {
      return watch?.current ?? embedded;
    },
    fatal,
    metrics,
    health,
    channels: bound.channels,
    runningTasks: () => bound.runningTasks(),
    stop,
  };
}

/** The health address, for a one-line error when another program holds it. */
function healthListens(address: string | undefined): ListenFlag[] {
  return address === undefined || address === '' ? [] : [{ flag: '--health-address', address }];
}

/** Plans and starts a run; undefined when nothing runs (`stopWaiting` aborted the start, see StartOptions). */
export async function runWorker(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, stopWaiting?: AbortSignal): Promise<RunningWorker | undefined> {
  // /healthz answers `starting` while the config and the worker load: from here when the command
  // line or the environment names its address, else as soon as the config file does.
  const decided = healthAddressBeforeConfig(argv.slice(2), env);
  let health = await listenOrExplain(healthListens(decided), () => listenEarly(decided));
  // --watch's child starts while this process loads the config, the worker and the broker.
  let early = takeFirstHostStartedEarly() ?? new FirstHost(argv.slice(2), env);
  try {
    for (let load: number | undefined; ; load = beginFreshLoad()) {
      await early.atStart();
      const planning = planRun(argv, env, {
        configLoaded: async (config) => {
          if (decided === undefined) health = await listenOrExplain(healthListens(config.healthAddress), () => listenEarly(config.healthAddress));
        },
        workerFound: (file, config) => early.workerFound(file.path, config),
        load,
      });
      // A signal while the config and the worker's code load (a top level that never finishes, say)
      // stops the run there: nothing holds a message yet, and the load may never end to let it through.
      const plan = await (stopWaiting === undefined ? planning : Promise.race([planning, whenAborted(stopWaiting)])).catch(async (error: unknown) => {
        // --watch: a worker that does not load waits for a save (watched-start.ts).
        if (!(error instanceof WatchedLoadFailure)) throw error;
        await early.discard();
        early = new FirstHost(argv.slice(2), env);
        return (await waitForFix(error, process.cwd(), stopWaiting)) ? RETRY : STOPPED;
      });
      if (plan === RETRY) continue;
      if (plan === STOPPED) {
        planning.catch(() => {});
        await early.discard();
        await health?.close();
        // What the worker's top level started (a retry timer, a socket) would keep the process running.
        return exitOnceWritten();
      }
      const firstHost = early.take(plan);
      if (plan === undefined || plan.settings.healthAddress === '') {
        await health?.close();
        return plan === undefined ? undefined : await startRun(plan, { firstHost, stopWaiting });
      }
      return await startRun(plan, { health, firstHost, stopWaiting });
    }
  } catch (error) {
    await early.discard();
    await health?.close();
    throw error;
  }
}

const RETRY = Symbol('retry');
const STOPPED = Symbol('stopped');

/** Resolves to STOPPED once `signal` aborts. */
function whenAborted(signal: AbortSignal): Promise<typeof STOPPED> {
  return new Promise((resolve) => (signal.aborted ? resolve(STOPPED) : signal.addEventListener('abort', () => resolve(STOPPED), { once: true })));
}

/** The CLI entry for the root command: run, and stop cleanly on the first signal. */
export async function runWorkerCommand(argv: readonly string[]): Promise<void> {
  // Signals are caught from the start: once the embedded broker is up it holds messages, and a
  // SIGTERM before the worker is bound (Node's default would kill the process there and then) must
  // still stop it cleanly, persisting them. The signal waits for the start; a second one exits now
  // (nothing bound yet: the broker persists on its own close only).
  const worker = await startHoldingSignals(
    (held) => runWorker(argv, process.env, held),
    (worker: RunningWorker) => {
      // Even a forced exit keeps what the embedded broker accepted: its state is written synchronously.
      // (Read at exit: a worker that took over a stopped broker holds a new one.)
      const beforeForcedExit = (): void => worker.embedded?.handle?.nsqd.persistAndClose();
      const stillRunning = (): string | undefined => describeRunningTasks(worker.runningTasks(), worker.settings.shutdownTimeoutMs);
      stopOnUncaughtError(worker.logger, onShutdownSignal(worker.logger, worker.stop, { beforeForcedExit, stillRunning }));
    },
  );
  // Said in one line where it happened; what is left is to stop cleanly and exit 1.
  // Exit 2 for the user's mistake (an HTTP port given for nsqd's TCP one), as at start; 1 otherwise.
  void worker?.fatal.then((error) =>
    worker.stop().then(
      () => process.exit(error.isUsage ? 2 : 1),
      () => process.exit(1),
    ),
  );
}
