/**
 * The first child of a `--watch` run, forked before the run's plan is made. A `--watch` start did
 * everything twice, one after the other: the runner started Node, the package and tsx, loaded the
 * config and the worker (for its options and tasks) and the broker, and only then forked the child
 * that does the same to run the worker's code. Forked at the start, the child starts on the other
 * core meanwhile, and gets the worker to load once the broker is up.
 *
 * Forked on a guess at the setting: --watch or NSQWORKER_WATCH, read ahead of the plan; or, when
 * neither is given, the config file's `watch` once it is loaded. The plan's setting decides: a child
 * forked for a run that does not watch is killed, and one that does watch without a guess forks its
 * child as before. At the start, the worker's file is looked for where the flags say (the config,
 * not read yet, may name another folder: then the child still loads the file the plan finds).
 */
import type { NsqworkerConfig } from '../config/config-file.ts';
import { booleanFlagAhead, prescan } from '../config/run-argv.ts';
import { isTrueWord } from '../config/schema-flags.ts';
import type { HostProcess } from '../reload/host-process.ts';
import type { RunPlan } from '../run-plan.ts';
import { soleWorkerFile } from '../worker/discover.ts';

export class FirstHost {
  private host: HostProcess | undefined;
  /** What the command line or the environment says of --watch, or undefined when neither does. */
  private readonly watchAhead: boolean | undefined;

  constructor(
    private readonly args: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.watchAhead = booleanFlagAhead(args, 'watch') ?? isTrueWord(env.NSQWORKER_WATCH);
  }

  private started = false;

  /** At the start of a run: forks when the command line or the environment asks for --watch and names a worker. Once. */
  async atStart(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.watchAhead !== true) return;
    const pre = prescan(this.args);
    const topic = pre.topic ?? this.env.NSQWORKER_TOPIC;
    const channel = pre.channel ?? this.env.NSQWORKER_CHANNEL;
    if (pre.help || pre.version || !topic || !channel) return;
    // None found (or two): the plan says what is wrong, and no child was started for it.
    const file = soleWorkerFile(pre.workersDir ?? this.env.NSQWORKER_WORKERS_DIR ?? 'workers', topic, channel);
    if (file !== undefined) await this.fork(file.path);
  }

  /** The worker's file is found: forks when only the config file asks for --watch. */
  async workerFound(file: string, config: NsqworkerConfig): Promise<void> {
    if (this.watchAhead === undefined && config.watch === true) await this.fork(file);
  }

  /** The child, for a plan that watches; killed, for one that does not (or for --help). */
  take(plan: RunPlan | undefined): HostProcess | undefined {
    if (plan?.settings.watch === true) return this.host;
    this.host?.kill();
    this.host = undefined;
    return undefined;
  }

  /**
   * Killed, for a run that did not start (the run's executor, if it took the child, has killed it
   * already): resolved once it has gone, its start's leftovers removed.
   */
  async discard(): Promise<void> {
    // No time given to close: it has loaded no code.
    await this.host?.close(0);
    this.host = undefined;
  }

  private async fork(file: string): Promise<void> {
    if (this.host !== undefined) return;
    const { CodeLoader } = await import('../reload/code-loader.ts');
    try {
      this.host = CodeLoader.spawnFirst(file);
    } catch {
      // Only a head start (a package.json that does not parse, say): the run says what is wrong.
    }
  }
}

let startedEarly: FirstHost | undefined;

/**
 * Called by the package's entry (bin/nsqworker.js) for a run's command line, before it loads the
 * CLI: the child is forked 0.3 s sooner, before the CLI's modules (zod, pino, the broker) compile,
 * and starts on the other core meanwhile. Its graph is the few modules this one imports (a bundle
 * entry of its own: scripts/bundle.mjs). Never throws: the run says what is wrong.
 */
export async function startFirstHostEarly(args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const early = new FirstHost(args, env);
  try {
    await early.atStart();
    startedEarly = early;
  } catch {
    await early.discard();
  }
}

/** The FirstHost {@link startFirstHostEarly} started for this process's run, once; undefined after, or when none was. */
export function takeFirstHostStartedEarly(): FirstHost | undefined {
  const early = startedEarly;
  startedEarly = undefined;
  return early;
}
