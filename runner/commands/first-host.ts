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
import { discoverWorkers, soleWorkerFile } from '../worker/discover.ts';

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
let devHostsStartedEarly: EarlyDevHosts | undefined;

/**
 * Called by the package's entry (bin/nsqworker.js) for a run's command line and for `dev`, before
 * it loads the CLI: the children are forked 0.3 s sooner, before the CLI's modules (zod, pino, the
 * broker) compile, and start on the other core meanwhile. Its graph is the few modules this one
 * imports (a bundle entry of its own: scripts/bundle.mjs). Never throws: the command says what is wrong.
 */
export async function startChildrenEarly(args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  if (args[0] === 'dev') {
    devHostsStartedEarly = await EarlyDevHosts.fork(args, env);
    return;
  }
  const early = new FirstHost(args, env);
  try {
    await early.atStart();
    startedEarly = early;
  } catch {
    await early.discard();
  }
}

/** The FirstHost {@link startChildrenEarly} started for this process's run, once; undefined after, or when none was. */
export function takeFirstHostStartedEarly(): FirstHost | undefined {
  const early = startedEarly;
  startedEarly = undefined;
  return early;
}

/** The children {@link startChildrenEarly} forked for `dev`, once; undefined after, or when none were. */
export function takeDevHostsStartedEarly(): EarlyDevHosts | undefined {
  const early = devHostsStartedEarly;
  devHostsStartedEarly = undefined;
  return early;
}

/**
 * `nsqworker dev`'s children, forked before the CLI loads: one per worker file in the folder that
 * --workers-dir or NSQWORKER_WORKERS_DIR names (else `workers`; the config file, not read yet, may
 * name another), each taken by its worker's start. The ones no start took are killed once dev has
 * started the workers it found.
 */
export class EarlyDevHosts {
  private readonly hosts = new Map<string, HostProcess>();

  static async fork(args: readonly string[], env: NodeJS.ProcessEnv): Promise<EarlyDevHosts> {
    const early = new EarlyDevHosts();
    const pre = prescan(args);
    if (pre.help || pre.version) return early;
    try {
      const files = discoverWorkers(pre.workersDir ?? env.NSQWORKER_WORKERS_DIR ?? 'workers');
      const { CodeLoader } = await import('../reload/code-loader.ts');
      for (const file of files) early.hosts.set(file.path, CodeLoader.spawnFirst(file.path));
    } catch {
      // Only a head start (no workers folder, a package.json that does not parse): dev says what is wrong.
    }
    return early;
  }

  /** The child forked for the worker file at `path`, taken once. */
  take(path: string): HostProcess | undefined {
    const host = this.hosts.get(path);
    this.hosts.delete(path);
    return host;
  }

  /** Kills the children no worker's start took. */
  async discardRest(): Promise<void> {
    const rest = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(rest.map((host) => host.close(0)));
  }
}
