/**
 * Everything a worker run needs, worked out before anything starts: which worker file (from the
 * first pass over the command line), its loaded code, and its settings and options merged from
 * schema defaults, nsqworker.config.ts, NSQWORKER_* variables and flags (the second pass, with the
 * worker's own flags added). `--help` is answered here, since it needs the worker but starts nothing.
 */
import { displayPath, loadConfig, type NsqworkerConfig } from './config/config-file.ts';
import { discoverWorkers, findWorker, namingRule, type WorkerFile } from './worker/discover.ts';
import { strayWorkerFile, workersElsewhere } from './worker/workers-folder-hints.ts';
import { RunnerError, RunnerErrorCode } from './errors.ts';
import { loadWorker } from './worker/loader.ts';
import { availableWorkers, nearMiss, nearWorker } from './missing-worker.ts';
import { formatRunHelp } from './commands/run-help.ts';
import { parseRunArgv, prescan, runnerFlagsAhead, UnknownFlagError, type RawFlags } from './config/run-argv.ts';
import { checkRunNames } from './config/run-names.ts';
import { fieldsOf, type FieldSpec } from './config/schema-flags.ts';
import type { RunSettings } from './config/settings.ts';
import type { WorkerRuntime } from './worker/worker-runtime.ts';
import type { ValueOrigin } from './config/layered-values.ts';
import { workerOptionLayers, workerOptions } from './config/worker-options.ts';
import { clientSecurity } from './config/client-security.ts';
import { parseRunnerSettings, RUN_FIELDS, RUNNER_FLAGS, runnerFlagClash, runnerLayers } from './config/runner-settings.ts';
import { checkConfigWorkers } from './config/config-workers.ts';
import { onlyNear, unknownFlagMessage } from '../protocol/suggest.ts';
import { environmentTypoList, environmentTypos, typoText } from './config/environment-typos.ts';
import { isValidChannelName, isValidTopicName } from '../protocol/names.ts';
import { exitOnceWritten } from './one-shot-exit.ts';

export { RUN_FIELDS } from './config/runner-settings.ts';

export interface RunPlan {
  file: WorkerFile;
  runtime: WorkerRuntime;
  settings: RunSettings;
  /** Where each runner setting came from: a reload tells a config change that matters from one a flag overrides. */
  origins: ReadonlyMap<string, ValueOrigin>;
  /** The worker's options, parsed by its schema. */
  options: Record<string, unknown>;
  /** The command line's flags as parsed, for a reloadable child to merge the options again. */
  flags: Record<string, unknown>;
  configPath: string | undefined;
  env: NodeJS.ProcessEnv;
  /**
   * Said as warnings at the start: NSQWORKER_* variables a typo from one this run reads
   * (environment-typos.ts), and config `workers` keys of no worker (config-workers.ts).
   */
  startWarnings?: readonly string[];
}

function usage(message: string): RunnerError {
  return new RunnerError(RunnerErrorCode.Usage, message);
}

/** The arguments of `args` that are flags but no runner flag's (a worker's options, or typos). */
function unknownRunnerFlags(args: readonly string[]): string[] {
  return args.filter((arg) => {
    if (arg === '-h' || arg === '--') return false;
    // A value (`email`, or a negative number such as `-1`) is not a flag.
    if (!arg.startsWith('-') || /^-\d/.test(arg)) return false;
    const name = arg.replace(/^-+/, '').split('=')[0]!;
    return !(arg.startsWith('--') && (RUNNER_FLAGS.includes(name) || (name.startsWith('no-') && RUNNER_FLAGS.includes(name.slice(3)))));
  });
}

/**
 * With no worker named, a short flag (`-t`) or one a typo away from --topic or --channel (`--tpoic`,
 * the flag missing) is the error; another (`--smtp-host`) is most often the worker's own option,
 * unknown only because --topic or --channel is missing: that is the error then, and the flag is said
 * to wait for it (with the runner flag it may be a typo of: `--tag`, `--tls`).
 */
function flagsBeforeAWorker(args: readonly string[]): string {
  const names = [...new Set(unknownRunnerFlags(args).map((arg) => arg.split('=')[0]!))];
  const nearOf = (name: string): string | undefined => (name.startsWith('--') ? onlyNear(name.slice(2), RUNNER_FLAGS) : undefined);
  const typo = names.find((name) => !name.startsWith('--') || nearOf(name) === 'topic' || nearOf(name) === 'channel');
  if (typo !== undefined) throw usage(unknownFlagMessage(typo, RUNNER_FLAGS));
  if (names.length === 0) return '';
  const typos = names.filter((name) => nearOf(name) !== undefined).map((name) => `${names.length === 1 ? '' : `${name} `}a typo of --${nearOf(name)!}`);
  const or = typos.length === 0 ? '' : `; or ${typos.join(', ')}`;
  return ` (${names.join(', ')} ${names.length === 1 ? 'is no runner flag: a worker option' : 'are no runner flags: worker options'}, read once they name the worker${or})`;
}

/** A --topic or --channel that no worker file could be named after gets the rule, not "create …". */
function checkNames(topic: string, channel: string, workersDir: string): void {
  if (!isValidTopicName(topic)) throw usage(`--topic ${JSON.stringify(topic)} is not a valid topic name; ${namingRule(workersDir)}`);
  if (!isValidChannelName(channel)) throw usage(`--channel ${JSON.stringify(channel)} is not a valid channel name; ${namingRule(workersDir)}`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Steps of planning that a caller may act on before planning ends. */
export interface PlanHooks {
  /** The config file is loaded (the worker is not yet): e.g. a health address set only there. */
  configLoaded?(config: NsqworkerConfig): Promise<void>;
  /** The worker's file is found, about to load for its options and tasks (not for --help). */
  workerFound?(file: WorkerFile, config: NsqworkerConfig): Promise<void>;
  /** A plan made again after a failed load: the user's code is read afresh, as this load (user-code.ts beginFreshLoad). */
  load?: number;
}

/**
 * Thrown by planRun instead of the worker's load failure (E_WORKER_LOAD_FAILED, E_WORKER_INVALID)
 * when the run is a --watch one: it waits for a save and plans again (watched-start.ts), as `dev` does.
 */
export class WatchedLoadFailure extends Error {
  override readonly name = 'WatchedLoadFailure';
  constructor(readonly failure: RunnerError) {
    super(failure.message, { cause: failure });
  }
}

/** The run argv asks for, or undefined when it asked for help (printed here). */
export async function planRun(argv: readonly string[], env: NodeJS.ProcessEnv, hooks: PlanHooks = {}): Promise<RunPlan | undefined> {
  const args = argv.slice(2);
  const pre = prescan(args);
  const { config, path: configPath } = await loadConfig(pre.config ?? env.NSQWORKER_CONFIG);
  if (!pre.help) await hooks.configLoaded?.(config);
  const workersDir = pre.workersDir ?? env.NSQWORKER_WORKERS_DIR ?? config.workersDir ?? 'workers';
  // --help lists NSQWORKER_TOPIC and NSQWORKER_CHANNEL (a systemd unit may set them): they find the worker too.
  pre.topic ??= nonEmpty(env.NSQWORKER_TOPIC);
  pre.channel ??= nonEmpty(env.NSQWORKER_CHANNEL);
  if (pre.topic === undefined || pre.channel === undefined) {
    const waiting = flagsBeforeAWorker(args);
    if (pre.help) {
      process.stdout.write(formatRunHelp(RUN_FIELDS, undefined, helpLayers(config, configPath, env, args, []).runner));
      return undefined;
    }
    // NSQWORKER_CHANEL set for NSQWORKER_CHANNEL (a unit file's slip) is the fix by itself: said first.
    const misspelt = environmentTypoList(env, RUN_FIELDS.map((field) => field.env)).filter(({ meant }) => meant === 'NSQWORKER_TOPIC' || meant === 'NSQWORKER_CHANNEL');
    const said = misspelt.map((typo) => `; ${typoText(typo)}`).join('');
    // The one missing is named first: "--topic and --channel are required" alone left it to be worked out.
    const missing = pre.topic === undefined ? (pre.channel === undefined ? '' : '--topic is missing: ') : '--channel is missing: ';
    throw usage(`${missing}--topic and --channel are required to run a worker${waiting}${said}; ${availableWorkers(workersDir)}`);
  }
  checkNames(pre.topic, pre.channel, workersDir);
  // Another worker's compiled twin (tsc's .js beside its .ts) does not stop this one: findWorker refuses this one's only.
  const workers = discoverWorkers(workersDir, 'skip');
  const configWarnings = checkConfigWorkers(config, configPath, workers, workersDir);
  const file = findWorker(workersDir, pre.topic, pre.channel);
  if (file === undefined) {
    const expected = `${workersDir}/${pre.topic}/${pre.topic}_${pre.channel}_worker.ts`;
    const misnamed = nearMiss(workersDir, pre.topic, pre.channel);
    // The file itself, in a folder named almost so (worker/, src/workers/) beside the workers folder.
    const stray = misnamed === undefined ? strayWorkerFile(workersDir, pre.topic, pre.channel) : undefined;
    const meant = misnamed === undefined && stray === undefined ? nearWorker(workers, pre.topic, pre.channel) : undefined;
    // Worker files in a folder named almost as the workers folder, or in the project above: that is the fix, not a file to create.
    const create = workersElsewhere(workersDir) ? '' : `create ${expected}; `;
    // A file named almost so, or a worker a typo away, is the fix by itself: the list would bury it.
    const fix =
      misnamed !== undefined
        ? `${misnamed.path} ${misnamed.fix} ${misnamed.target}`
        : stray !== undefined
          ? `${displayPath(stray)} is outside ${workersDir}/: move it to ${expected}`
          : meant !== undefined
          ? `did you mean ${meant}? (or create ${expected})`
          : `${create}${availableWorkers(workersDir, workers)}`;
    // Help asked for still shows the runner's flags; the error after it says why the worker's are missing.
    if (pre.help) process.stdout.write(formatRunHelp(RUN_FIELDS, undefined, helpLayers(config, configPath, env, args, []).runner));
    throw new RunnerError(RunnerErrorCode.WorkerNotFound, `no worker for topic ${pre.topic} channel ${pre.channel}: ${fix}`);
  }
  let watching = false;
  if (!pre.help) {
    // A bad value of a runner flag needs no worker to be known: said before its file loads (tsx and
    // the worker's imports), and before a --watch run forks its child for it.
    watching = parseRunnerSettings(runnerLayers(config, configPath, env, runnerFlagsAhead(args, RUN_FIELDS))).watch;
    await hooks.workerFound?.(file, config);
  }
  const { runtime } = await loadWorker(file, hooks.load === undefined ? {} : { load: hooks.load }).catch((error: unknown) => {
    const mendedBySaving = error instanceof RunnerError && (error.code === RunnerErrorCode.WorkerLoadFailed || error.code === RunnerErrorCode.WorkerInvalid);
    throw watching && mendedBySaving ? new WatchedLoadFailure(error) : error;
  });
  const workerFields = runtime.optionsSchema === undefined ? [] : fieldsOf(runtime.optionsSchema);
  const clash = runnerFlagClash(workerFields);
  if (clash !== undefined) {
    const invalid = new RunnerError(RunnerErrorCode.WorkerInvalid, `${file.path}: ${clash}`);
    throw watching ? new WatchedLoadFailure(invalid) : invalid;
  }
  const workerKey = `${file.topic}/${file.channel}`;
  if (pre.help) {
    const layers = helpLayers(config, configPath, env, args, workerFields);
    // An option the worker lacks in its config section: the help still lists the options, then the error says it.
    let refused: RunnerError | undefined;
    let worker: ReturnType<typeof workerOptionLayers>;
    try {
      worker = workerOptionLayers(runtime, config, configPath, workerKey, env, layers.flags);
    } catch (error) {
      if (!(error instanceof RunnerError) || error.code !== RunnerErrorCode.ConfigInvalid) throw error;
      refused = error;
      worker = workerOptionLayers(runtime, { ...config, workers: {} }, configPath, workerKey, env, layers.flags);
    }
    process.stdout.write(
      formatRunHelp(RUN_FIELDS, { name: workerKey, fields: workerFields, tasks: runtime.taskNames, layered: worker.layered }, layers.runner),
    );
    // What a run would warn of at start: the help shows defaults where such a variable meant otherwise.
    for (const warning of [...configWarnings, ...runWarnings(env, workerFields)]) process.stderr.write(`nsqworker: ${warning}\n`);
    if (refused !== undefined) throw refused;
    // The worker's module is loaded: what its top level started must not keep the help open.
    return exitOnceWritten();
  }

  let flags: RawFlags;
  try {
    flags = parseRunArgv(args, [...RUN_FIELDS, ...workerFields], { valueFlags: ['config'], switches: ['help'] });
  } catch (error) {
    throw await placedFlagError(error);
  }
  const runner = runnerLayers(config, configPath, env, flags);
  const settings = parseRunnerSettings(runner);
  const options = withMisspeltVariables(() => workerOptions(runtime, config, workerKey, env, flags, configPath), env, workerFields);
  checkRunNames(settings, runtime.taskNames);
  // A CA, certificate or key file that cannot be read stops the run here, as a usage error naming its flag.
  clientSecurity(settings);
  const startWarnings = [...configWarnings, ...runWarnings(env, workerFields)];
  return { file, runtime, settings, origins: runner.origins, options, flags, configPath, env, startWarnings };
}

/** The NSQWORKER_* variables a typo away from one of the runner's or the worker's options' ({@link environmentTypos}). */
function runWarnings(env: NodeJS.ProcessEnv, workerFields: readonly FieldSpec[]): string[] {
  return environmentTypos(env, [...RUN_FIELDS, ...workerFields].map((field) => field.env));
}

/**
 * The worker's options, or their error with each variable set a typo away from one of theirs: an
 * option required and given nowhere is most often one given under a misspelt name
 * (NSQWORKER_SMTPHOST), which the run would otherwise warn of only once it started.
 */
function withMisspeltVariables<T>(parse: () => T, env: NodeJS.ProcessEnv, workerFields: readonly FieldSpec[]): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof RunnerError)) throw error;
    const theirs = new Set(workerFields.map((field) => field.env));
    const misspelt = environmentTypoList(env, [...RUN_FIELDS, ...workerFields].map((field) => field.env)).filter(({ meant }) => theirs.has(meant));
    if (misspelt.length === 0) throw error;
    throw new RunnerError(error.code, `${error.message}; ${misspelt.map(typoText).join('; ')}`, { cause: error });
  }
}

/**
 * A flag of `nsqworker broker` given to a worker (`--mem-queue-size`) is said where it belongs,
 * not matched to a runner flag a few letters away (it was `--dedup-queue-size`): the broker a worker
 * embeds takes nsqd's defaults. The broker's flags are loaded only here, on this error: --help and
 * a good command line never load the broker's code.
 */
async function placedFlagError(error: unknown): Promise<unknown> {
  if (!(error instanceof UnknownFlagError)) return error;
  const { BROKER_FLAGS } = await import('../broker/nsqd/options.ts');
  if (!BROKER_FLAGS.some((spec) => spec.flag === error.flag)) return error;
  return usage(`--${error.flag} is a flag of nsqworker broker: the broker a worker embeds takes nsqd's defaults; run nsqworker broker --${error.flag} … and point the worker at it with --nsqd-tcp-address`);
}

/** The values --help shows as in effect; the command line is read as far as it parses. */
function helpLayers(config: NsqworkerConfig, configPath: string | undefined, env: NodeJS.ProcessEnv, args: readonly string[], workerFields: ReturnType<typeof fieldsOf>) {
  let flags: RawFlags = {};
  try {
    flags = parseRunArgv(args, [...RUN_FIELDS, ...workerFields], { valueFlags: ['config'], switches: ['help'] });
  } catch {
    // A bad flag is reported when the worker runs; --help still shows what it can: the runner's
    // flags around it (--topic given is not "not given" for a stray word after a boolean).
    try {
      flags = runnerFlagsAhead(args, RUN_FIELDS);
    } catch {
      // Not even those: the defaults and the other sources.
    }
  }
  return { flags, runner: runnerLayers(config, configPath, env, flags) };
}
