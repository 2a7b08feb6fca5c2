/**
 * `nsqworker --topic T --channel C`: run one worker. The command line is parsed in two passes:
 * first enough to find the worker, then again with the worker's own options added as flags.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import { loadConfig, type NsqworkerConfig } from '../config-file.ts';
import { discoverWorkers, findWorker } from '../discover.ts';
import { createTaskChannels, startEmbeddedBroker, type EmbeddedBroker } from '../embedded.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { loadWorker } from '../loader.ts';
import { createLogger } from '../log.ts';
import { fieldsOf, parseWithFields, valuesFromEnv, valuesFromFlags, type FieldSpec } from '../schema-flags.ts';
import { FLAG_NAMES, RunSettingsSchema, type RunSettings } from '../settings.ts';
import { bindWorker, channelForTask, type Endpoints } from '../bind.ts';
import { startHealthServer, type HealthServer } from '../health.ts';
import { WorkerMetrics } from '../metrics.ts';
import { InProcessExecutor } from '../executor.ts';
import { ReloadingExecutor } from '../reload/reloading-executor.ts';
import { onShutdownSignal } from '../shutdown.ts';
import { formatRunHelp } from './run-help.ts';
import { remoteEndpoints } from '../endpoints.ts';
import { parseRunArgv } from '../run-argv.ts';
import { checkRunNames } from '../run-names.ts';

/** Flags the runner reads before it knows the worker. */
interface Prescan {
  topic?: string;
  channel?: string;
  workersDir?: string;
  config?: string;
  help: boolean;
}

export function prescan(argv: readonly string[]): Prescan {
  const out: Prescan = { help: false };
  const wanted: Record<string, keyof Omit<Prescan, 'help'>> = {
    '--topic': 'topic',
    '--channel': 'channel',
    '--workers-dir': 'workersDir',
    '--config': 'config',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') out.help = true;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = wanted[name];
    if (key === undefined) continue;
    out[key] = eq > 0 ? arg.slice(eq + 1) : argv[++i];
  }
  return out;
}

const RUN_FIELDS: FieldSpec[] = fieldsOf(RunSettingsSchema, FLAG_NAMES);

function usage(message: string): RunnerError {
  return new RunnerError(RunnerErrorCode.Usage, message);
}

function availableWorkers(workersDir: string): string {
  const found = discoverWorkers(workersDir);
  if (found.length === 0) return `no worker files under ${workersDir}/ (expected ${workersDir}/<topic>/<topic>_<channel>_worker.ts)`;
  return `workers found: ${found.map((file) => `--topic ${file.topic} --channel ${file.channel}`).join(', ')}`;
}

/** Parses argv with every known flag; unknown flags and stray words are usage errors. */
function parseFlags(argv: readonly string[], fields: readonly FieldSpec[]): Record<string, unknown> {
  return parseRunArgv(argv.slice(2), fields, { valueFlags: ['config'], switches: ['help'] });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The worker's section of the config file may only name its options: the options schema is a
 * plain (stripping) z.object, so a typo such as `slowTreshold` would otherwise do nothing, silently.
 */
function checkWorkerConfigKeys(values: Record<string, unknown>, fields: readonly FieldSpec[], name: string): void {
  const known = new Set(fields.map((field) => field.key));
  const unknown = Object.keys(values).filter((key) => !known.has(key));
  if (unknown.length === 0) return;
  const options = known.size === 0 ? 'it declares no options' : `its options are ${[...known].join(', ')}`;
  throw new RunnerError(RunnerErrorCode.ConfigInvalid, `config workers['${name}']: unknown option ${unknown.join(', ')}; ${options}`);
}

export interface RunningWorker {
  settings: RunSettings;
  logger: Logger;
  embedded: EmbeddedBroker | undefined;
  /** With --health-address: the metrics (hot reload calls recordReload()) and the server of /healthz and /metrics. */
  metrics: WorkerMetrics | undefined;
  health: HealthServer | undefined;
  stop(): Promise<void>;
}

export async function runWorker(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<RunningWorker | undefined> {
  const pre = prescan(argv.slice(2));
  const { config, path: configPath } = await loadConfig(pre.config ?? env.NSQWORKER_CONFIG);
  const workersDir = pre.workersDir ?? env.NSQWORKER_WORKERS_DIR ?? config.workersDir ?? 'workers';
  // --help lists NSQWORKER_TOPIC and NSQWORKER_CHANNEL (a systemd unit may set them): they find the worker too.
  pre.topic ??= nonEmpty(env.NSQWORKER_TOPIC);
  pre.channel ??= nonEmpty(env.NSQWORKER_CHANNEL);
  if (pre.topic === undefined || pre.channel === undefined) {
    if (pre.help) {
      process.stdout.write(formatRunHelp(RUN_FIELDS, undefined));
      return undefined;
    }
    throw usage(`--topic and --channel are required to run a worker; ${availableWorkers(workersDir)}`);
  }
  const file = findWorker(workersDir, pre.topic, pre.channel);
  if (file === undefined) {
    throw new RunnerError(
      RunnerErrorCode.WorkerNotFound,
      `no worker for topic ${pre.topic} channel ${pre.channel}: create ${workersDir}/${pre.topic}/${pre.topic}_${pre.channel}_worker.ts; ${availableWorkers(workersDir)}`,
    );
  }
  const loaded = await loadWorker(file);
  const workerFields = loaded.runtime.optionsSchema === undefined ? [] : fieldsOf(loaded.runtime.optionsSchema);
  const runnerFlags = new Set([...RUN_FIELDS.map((field) => field.flag), 'config', 'help']);
  for (const field of workerFields) {
    if (runnerFlags.has(field.flag)) {
      throw new RunnerError(RunnerErrorCode.WorkerInvalid, `${file.path}: option ${field.key} clashes with the runner's flag --${field.flag}; rename it`);
    }
  }
  if (pre.help) {
    process.stdout.write(formatRunHelp(RUN_FIELDS, { name: `${file.topic}/${file.channel}`, fields: workerFields, tasks: loaded.runtime.taskNames }));
    return undefined;
  }

  const flags = parseFlags(argv, [...RUN_FIELDS, ...workerFields]);
  const { workers: workerConfigs, ...configSettings } = config as NsqworkerConfig;
  const workerConfig = workerConfigs?.[`${file.topic}/${file.channel}`] ?? {};
  checkWorkerConfigKeys(workerConfig, workerFields, `${file.topic}/${file.channel}`);
  const settings = parseWithFields(
    RunSettingsSchema,
    RUN_FIELDS,
    { ...configSettings, workersDir, ...valuesFromEnv(RUN_FIELDS, env), ...valuesFromFlags(RUN_FIELDS, flags) },
    'runner settings',
  );
  const options =
    loaded.runtime.optionsSchema === undefined
      ? {}
      : (parseWithFields(
          loaded.runtime.optionsSchema as z.ZodObject,
          workerFields,
          {
            ...workerConfig,
            ...valuesFromEnv(workerFields, env),
            ...valuesFromFlags(workerFields, flags),
          },
          `options of worker ${file.topic}/${file.channel}`,
        ) as Record<string, unknown>);

  checkRunNames(settings, loaded.runtime.taskNames);

  const logger = createLogger(settings.logLevel);
  // Up before the broker connections, so /healthz answers 503 while the worker starts.
  const metrics = settings.healthAddress === '' ? undefined : new WorkerMetrics({ topic: settings.topic, channel: settings.channel });
  const health = metrics === undefined ? undefined : await startHealthServer(settings.healthAddress, metrics, logger);
  let embedded: EmbeddedBroker | undefined;
  let endpoints: Endpoints;
  try {
    if (settings.nsqdTcpAddresses.length > 0 || settings.lookupdHttpAddresses.length > 0) {
      endpoints = await remoteEndpoints(settings);
    } else {
      embedded = await startEmbeddedBroker({
        tcpAddress: settings.brokerTcpAddress,
        httpAddress: settings.brokerHttpAddress,
        dataPath: settings.dataPath,
        logger,
      });
      endpoints = { nsqdTcpAddresses: [embedded.tcpAddress], lookupdHttpAddresses: [], publishAddresses: [embedded.tcpAddress] };
      const { taskNames } = loaded.runtime;
      await createTaskChannels(
        embedded,
        settings.topicPrefix + settings.topic,
        taskNames.map((task) => channelForTask(settings.channel, task, taskNames.length)),
      );
    }
  } catch (error) {
    await embedded?.close();
    await health?.close();
    throw error;
  }
  const bound = await bindWorker({
    settings,
    taskNames: loaded.runtime.taskNames,
    createExecutor: (deps) =>
      settings.watch
        ? ReloadingExecutor.start({
            taskNames: loaded.runtime.taskNames,
            deps,
            request: {
              file: file.path,
              workerKey: `${file.topic}/${file.channel}`,
              configPath,
              flags,
              env: { ...env },
              logLevel: settings.logLevel,
              dedupQueueSize: settings.dedupQueueSize,
            },
            publishAddresses: endpoints.publishAddresses,
            workersDir: settings.workersDir,
            watch: true,
            log: logger,
            events: {
              reloaded: () => metrics?.recordReload('applied'),
              reloadFailed: () => metrics?.recordReload('failed'),
            },
          })
        : new InProcessExecutor({ ...deps, runtime: loaded.runtime, options }),
    endpoints,
    logger,
    metrics,
  });
  logger.info(
    { topic: settings.topicPrefix + settings.topic, channels: Object.fromEntries(bound.channels), worker: file.path },
    `worker ${file.topic}/${file.channel} running: tasks ${loaded.runtime.taskNames.join(', ')}`,
  );
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // /healthz answers 503 from the first signal on; it closes last, so the drain can be watched.
      metrics?.setDraining();
      try {
        await bound.close();
        await embedded?.close();
        logger.info('worker stopped');
      } finally {
        await health?.close();
      }
    })();
    return stopping;
  };
  return { settings, logger, embedded, metrics, health, stop };
}

/** The CLI entry for the root command: run, and stop cleanly on the first signal. */
export async function runWorkerCommand(argv: readonly string[]): Promise<void> {
  // Signals are caught from the start: once the embedded broker is up it holds messages, and a
  // SIGTERM before the worker is bound (Node's default would kill the process there and then) must
  // still stop it cleanly, persisting them. The signal waits for the start; a second one exits now.
  let early: NodeJS.Signals | undefined;
  const onEarlySignal = (signal: NodeJS.Signals): void => {
    if (early !== undefined) process.exit(130); // nothing bound yet: the broker persists on its own close only
    early = signal;
  };
  process.on('SIGTERM', onEarlySignal);
  process.on('SIGINT', onEarlySignal);
  let running: RunningWorker | undefined;
  try {
    running = await runWorker(argv);
  } finally {
    process.off('SIGTERM', onEarlySignal);
    process.off('SIGINT', onEarlySignal);
  }
  if (running === undefined) return;
  const { embedded } = running;
  onShutdownSignal(running.logger, running.stop, {
    // Even a forced exit keeps what the embedded broker accepted: its state is written synchronously.
    beforeForcedExit: () => embedded?.handle?.nsqd.persistAndClose(),
  });
  if (early !== undefined) process.kill(process.pid, early);
}
