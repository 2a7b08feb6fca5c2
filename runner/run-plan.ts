/**
 * Everything a worker run needs, worked out before anything starts: which worker file (from the
 * first pass over the command line), its loaded code, and its settings and options merged from
 * schema defaults, nsqworker.config.ts, NSQWORKER_* variables and flags (the second pass, with the
 * worker's own flags added). `--help` is answered here, since it needs the worker but starts nothing.
 */
import { loadConfig, type NsqworkerConfig } from './config/config-file.ts';
import { discoverWorkers, findWorker, type WorkerFile } from './worker/discover.ts';
import { RunnerError, RunnerErrorCode } from './errors.ts';
import { loadWorker } from './worker/loader.ts';
import { formatRunHelp } from './commands/run-help.ts';
import { parseRunArgv } from './config/run-argv.ts';
import { checkRunNames } from './config/run-names.ts';
import { fieldsOf, parseWithFields, valuesFromEnv, valuesFromFlags, type FieldSpec } from './config/schema-flags.ts';
import { FLAG_NAMES, RunSettingsSchema, type RunSettings } from './config/settings.ts';
import type { WorkerRuntime } from './worker/worker-runtime.ts';
import { workerOptions } from './config/worker-options.ts';
import { clientSecurity } from './config/client-security.ts';

export interface RunPlan {
  file: WorkerFile;
  runtime: WorkerRuntime;
  settings: RunSettings;
  /** The worker's options, parsed by its schema. */
  options: Record<string, unknown>;
  /** The command line's flags as parsed, for a reloadable child to merge the options again. */
  flags: Record<string, unknown>;
  configPath: string | undefined;
  env: NodeJS.ProcessEnv;
}

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

export const RUN_FIELDS: FieldSpec[] = fieldsOf(RunSettingsSchema, FLAG_NAMES);

function usage(message: string): RunnerError {
  return new RunnerError(RunnerErrorCode.Usage, message);
}

function availableWorkers(workersDir: string): string {
  const found = discoverWorkers(workersDir);
  if (found.length === 0) return `no worker files under ${workersDir}/ (expected ${workersDir}/<topic>/<topic>_<channel>_worker.ts)`;
  return `workers found: ${found.map((file) => `--topic ${file.topic} --channel ${file.channel}`).join(', ')}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}



/** Steps of planning that a caller may act on before planning ends. */
export interface PlanHooks {
  /** The config file is loaded (the worker is not yet): e.g. a health address set only there. */
  configLoaded?(config: NsqworkerConfig): Promise<void>;
}

/** The run argv asks for, or undefined when it asked for help (printed here). */
export async function planRun(argv: readonly string[], env: NodeJS.ProcessEnv, hooks: PlanHooks = {}): Promise<RunPlan | undefined> {
  const pre = prescan(argv.slice(2));
  const { config, path: configPath } = await loadConfig(pre.config ?? env.NSQWORKER_CONFIG);
  if (!pre.help) await hooks.configLoaded?.(config);
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
  const { runtime } = await loadWorker(file);
  const workerFields = runtime.optionsSchema === undefined ? [] : fieldsOf(runtime.optionsSchema);
  const runnerFlags = new Set([...RUN_FIELDS.map((field) => field.flag), 'config', 'help']);
  for (const field of workerFields) {
    if (runnerFlags.has(field.flag)) {
      throw new RunnerError(RunnerErrorCode.WorkerInvalid, `${file.path}: option ${field.key} clashes with the runner's flag --${field.flag}; rename it`);
    }
  }
  if (pre.help) {
    process.stdout.write(formatRunHelp(RUN_FIELDS, { name: `${file.topic}/${file.channel}`, fields: workerFields, tasks: runtime.taskNames }));
    return undefined;
  }

  const flags = parseRunArgv(argv.slice(2), [...RUN_FIELDS, ...workerFields], { valueFlags: ['config'], switches: ['help'] });
  // Per-worker option values are the worker's business (worker-options.ts); the rest are runner settings.
  const { workers: _workers, ...configSettings } = config as NsqworkerConfig;
  const settings = parseWithFields(
    RunSettingsSchema,
    RUN_FIELDS,
    { ...configSettings, workersDir, ...valuesFromEnv(RUN_FIELDS, env), ...valuesFromFlags(RUN_FIELDS, flags) },
    'runner settings',
  );
  const options = workerOptions(runtime, config, `${file.topic}/${file.channel}`, env, flags);
  checkRunNames(settings, runtime.taskNames);
  // A CA, certificate or key file that cannot be read stops the run here, as a usage error naming its flag.
  clientSecurity(settings);
  return { file, runtime, settings, options, flags, configPath, env };
}
