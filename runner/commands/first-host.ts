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
 * child as before. The child warms up for the module system of the file the flags name; the file
 * found may differ (.cts, say): it loads all the same, with the hooks it needs registered then.
 */
import { join } from 'node:path';
import type { NsqworkerConfig } from '../config/config-file.ts';
import { booleanFlagAhead, isTrueWord } from '../config/run-argv.ts';
import type { HostProcess } from '../reload/host-process.ts';
import { prescan, type RunPlan } from '../run-plan.ts';

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

  /** At the start of a run: forks when the command line or the environment asks for --watch and names a worker. */
  async atStart(): Promise<void> {
    if (this.watchAhead !== true) return;
    const pre = prescan(this.args);
    const topic = pre.topic ?? this.env.NSQWORKER_TOPIC;
    const channel = pre.channel ?? this.env.NSQWORKER_CHANNEL;
    if (pre.help || !topic || !channel) return;
    // The file's folder as the flags name it (the config may name another, unread yet).
    const workersDir = pre.workersDir ?? this.env.NSQWORKER_WORKERS_DIR ?? 'workers';
    await this.fork(join(workersDir, topic, `${topic}_${channel}_worker.ts`));
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
