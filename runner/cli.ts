/**
 * The `nsqworker` command line. Usage errors (bad flags or values) exit with status 2, runtime
 * failures with 1, so supervisors can tell a broken unit from a crash.
 */
import { cac } from 'cac';
import { registerAdminCommand } from './commands/admin.ts';
import { registerDevCommand } from './commands/dev.ts';
import { registerListCommand } from './commands/list.ts';
import { runWorkerCommand } from './commands/run.ts';
import { registerServerCommands } from './commands/servers.ts';
import { registerToolCommands } from './commands/tools.ts';
import { UsageError } from './config/flags.ts';
import { didYouMean, nearest } from '../protocol/suggest.ts';
import { discoverWorkers } from './worker/discover.ts';
import { asksForVersion, commandOptionNames, describeFailure, refuseGoStyleFlags, wantsStacks } from './cli-report.ts';
import { exitAfterFileWork, exitQuietlyWhenStdoutCloses } from './one-shot-exit.ts';

export function buildCli() {
  const cli = cac('nsqworker');
  registerServerCommands(cli);
  registerToolCommands(cli);
  registerListCommand(cli);
  registerDevCommand(cli);
  registerAdminCommand(cli);
  cli.help();
  cli.version('0.1.0');
  return cli;
}

/** Every command name and alias, for "did you mean" on a mistyped command. */
function commandNames(cli: ReturnType<typeof buildCli>): string[] {
  return cli.commands.flatMap((command) => [command.name, ...command.aliasNames]).filter((name) => name !== '');
}

/** Whether argv names a subcommand; anything else (flags only) runs a worker. */
function isSubcommand(cli: ReturnType<typeof buildCli>, argv: readonly string[]): boolean {
  const first = argv[2];
  if (first === undefined) return false;
  if (first === '-v' || first === '--version') return true;
  return commandNames(cli).includes(first);
}

/** Flags that a run and the commands that read the workers (list, dev) all take, each with a value. */
const SHARED_VALUE_FLAGS = new Set(['--workers-dir', '--config']);

/**
 * argv with a word written after those shared flags moved first: `nsqworker --workers-dir w list`
 * is `nsqworker list --workers-dir w`, as `git -C dir status` is read, and `--workers-dir w help list`
 * is `help list --workers-dir w`. Only those flags: any other flag before a word makes the word that
 * flag's value (`--topic list` names a topic). A run takes no bare words, so the word is a command,
 * `help`, or a mistyped command, answered as one. argv as it was otherwise.
 */
function commandFirst(argv: readonly string[]): string[] {
  const args = argv.slice(2);
  let i = 0;
  while (i < args.length && SHARED_VALUE_FLAGS.has(args[i]!.split('=')[0]!)) i += args[i]!.includes('=') ? 1 : 2;
  const word = args[i];
  if (i === 0 || word === undefined || word.startsWith('-')) return [...argv];
  return [...argv.slice(0, 2), ...args.slice(i), ...args.slice(0, i)];
}

/** `nsqworker help [command]`: the same as `nsqworker [command] --help`. */
async function showHelp(cli: ReturnType<typeof buildCli>, argv: readonly string[]): Promise<void> {
  // Running a worker is the root command, flags only: `help run` asks for its help (and `help --config x`).
  const topic = argv[3] === 'run' || argv[3]?.startsWith('-') ? undefined : argv[3];
  if (topic !== undefined && commandNames(cli).includes(topic)) {
    cli.parse([...argv.slice(0, 2), topic, '--help'], { run: false });
    return;
  }
  if (topic !== undefined) throw new UsageError(`unknown command ${JSON.stringify(topic)}${didYouMean(topic, commandNames(cli))}`);
  // The root command's help, as `nsqworker --help` prints it (planning with --help prints it).
  const { planRun } = await import('./run-plan.ts');
  await planRun([...argv.slice(0, 2), '--help'], process.env);
}

/**
 * `dev --smtp-host x`: dev takes few flags of a run's. An unknown flag is answered with where its value
 * goes under dev: a runner setting's variable or config key; none for what dev decides itself (it runs
 * every worker, each watched); else a worker's option, from its variable or the config's `workers`.
 */
async function devFlagHint(text: string): Promise<string> {
  const typed = /^unknown flag --([a-z0-9-]+)$/.exec(text)?.[1];
  if (typed === undefined) return '';
  const { RUN_FIELDS } = await import('./config/runner-settings.ts');
  // A slip of a run's flag (`--chanel`, `--max-in-flite`) is that flag: said as meant, then where it goes under dev.
  const runFlags = [...DEV_RUNS_ITSELF, ...RUN_FIELDS.map((field) => field.flag)];
  const flag = runFlags.includes(typed) ? typed : nearest(typed, runFlags);
  const lead = flag === undefined || flag === typed ? '; ' : `; did you mean --${flag}? `;
  const asOption = `dev runs every worker and takes no worker option as a flag: set NSQWORKER_${typed.toUpperCase().replaceAll('-', '_')} or give it in the config file under workers['<topic>/<channel>']`;
  // A slip may as well be a worker's own option named near a run's (`--channels`): both are said.
  const orOption = flag === typed ? '' : `; if --${typed} is a worker's option, ${asOption}`;
  if (flag !== undefined && DEV_RUNS_ITSELF.includes(flag)) return `${lead}dev runs every worker, each watched: it takes no --${flag}${orOption}`;
  const setting = RUN_FIELDS.find((field) => field.flag === flag);
  if (setting !== undefined) return `${lead}under dev, the runner setting comes from ${setting.env} or ${setting.key} in the config file${orOption}`;
  return `; ${asOption}`;
}

/** A run's flags for what dev decides itself: it runs every worker, each watched. */
const DEV_RUNS_ITSELF: readonly string[] = ['topic', 'channel', 'watch', 'health-address'];

async function main(given: readonly string[]): Promise<void> {
  exitQuietlyWhenStdoutCloses();
  const cli = buildCli();
  const argv = commandFirst(given);
  try {
    const first = argv[2];
    if (first === 'help') {
      await showHelp(cli, argv);
      return;
    }
    if (first !== undefined && !first.startsWith('-') && !isSubcommand(cli, argv)) {
      // `nsqworker orders billing`: a worker's topic and channel given as words.
      const second = argv[3];
      const worker = second !== undefined && discoverWorkers(process.env.NSQWORKER_WORKERS_DIR ?? 'workers', 'skip').some((file) => file.topic === first && file.channel === second);
      // `nsqworker version`, as go and npm take it: the flag nsqd's tools have.
      const meant = worker ? `; to run a worker: nsqworker --topic ${first} --channel ${second}` : first === 'version' ? '; the version is nsqworker --version' : didYouMean(first, commandNames(cli));
      throw new UsageError(`unknown command ${JSON.stringify(first)}${meant} (commands: ${[...new Set(cli.commands.map((c) => c.name).filter((n) => n !== ''))].join(', ')}, help)`);
    }
    // `list --version`, `--topic T --channel C --version`: the version, as without a command.
    if (asksForVersion(argv)) {
      cli.outputVersion();
      return;
    }
    if (!isSubcommand(cli, argv)) {
      await runWorkerCommand(argv);
      return;
    }
    refuseGoStyleFlags(argv.slice(2), cli);
    cli.parse(argv, { run: false });
    if (cli.matchedCommand === undefined && !cli.options.help && !cli.options.version) {
      if (cli.args.length > 0) throw new UsageError(`unknown command ${JSON.stringify(cli.args[0])}`);
      cli.outputHelp();
      return;
    }
    await cli.runMatchedCommand();
  } catch (error) {
    const report = describeFailure(error, { stacks: wantsStacks(argv, process.env), knownOptions: commandOptionNames(cli), argv });
    process.stderr.write(`nsqworker: ${report.text}${cli.matchedCommand?.name === 'dev' ? await devFlagHint(report.text) : ''}\n`);
    await exitAfterFileWork(report.exitCode);
  }
}

await main(process.argv);
