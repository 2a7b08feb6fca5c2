/**
 * How the CLI reports a failure: one line on stderr, and an exit status a supervisor can act on —
 * 2 for the user's mistake (a bad flag, value, name or config entry; running again will not help),
 * 1 for a failure at run time. Expected failures carry a code and get no stack trace; with
 * `--log-level debug` (or trace) every failure shows its stack.
 */
import type { CAC } from 'cac';
import { RunnerError, RunnerErrorCode } from './errors.ts';
import { didYouMean, unknownFlagMessage } from '../protocol/suggest.ts';
import { thrownText } from '../protocol/thrown-text.ts';

export interface FailureReport {
  text: string;
  exitCode: 1 | 2;
}

/**
 * Whether the command line asks for the version (`-v`, `--version`), as typed: cac prints it only
 * when no command is named and runs the command otherwise (`broker --version` started a broker), and
 * its own option cannot tell: mri reads Go's `-interval` as letters, -v among them.
 */
export function asksForVersion(argv: readonly string[]): boolean {
  return argv.includes('--version') || argv.includes('-v');
}

/** The long option names of the command cac matched (and the global ones), for "did you mean". */
export function commandOptionNames(cli: CAC): string[] {
  const options = [...(cli.matchedCommand?.options ?? []), ...cli.globalCommand.options];
  return options.flatMap((option) => option.names).filter((name) => name.length > 1);
}

/** Whether the command line or the environment asks for debug logs. */
export function wantsStacks(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const levels = new Set(['debug', 'trace']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--log-level' && levels.has(argv[i + 1] ?? '')) return true;
    if (arg.startsWith('--log-level=') && levels.has(arg.slice('--log-level='.length))) return true;
  }
  return levels.has(env.NSQWORKER_LOG_LEVEL ?? '');
}

function isCacError(error: unknown): error is Error {
  return (error as { name?: unknown } | undefined)?.name === 'CACError';
}

/**
 * cac's "Unknown option `--tpoic`" with the nearest option of the command, and its "Unused args:
 * `extra`" as the run's own stray-argument error says it.
 */
function cacMessage(error: Error, knownOptions: readonly string[], argv: readonly string[]): string {
  const unused = /^Unused args: (.+)$/.exec(error.message);
  if (unused !== null) return `unexpected argument ${unused[1]!.replaceAll('`', '"')}: the command takes flags only (its --help lists them)`;
  const unknown = /^Unknown option `(-{1,2})([^`]+)`$/.exec(error.message);
  if (unknown === null) return error.message;
  // mri reads a negative value (`--mem-queue-size -1`) as a flag of its own.
  if (/^\d/.test(unknown[2]!)) return `unexpected ${unknown[1]}${unknown[2]}: a value that starts with - is given as --flag=${unknown[1]}${unknown[2]}`;
  const typed = kebab(unknown[2]!);
  // nsqd's and NSQ's tools take Go's one-dash long flags (`-topic=t`), which mri reads as letters
  // (`-t -o -p ...`): the flag is named as it was typed, with the two dashes it takes here.
  const goStyle = unknown[1] === '-' ? argv.find((arg) => /^-[a-z][a-z0-9-]+(=|$)/i.test(arg) && arg.startsWith(`-${unknown[2]!}`)) : undefined;
  if (goStyle !== undefined) return goStyleFlagMessage(goStyle, knownOptions);
  return `unknown flag ${unknown[1]}${typed}${didYouMean(typed, [...new Set(knownOptions.map(kebab))], '--')}`;
}

/** cac names options camel-cased (`workersDri`); the user typed them kebab-cased. */
const kebab = (name: string): string => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

function goStyleFlagMessage(typed: string, knownOptions: readonly string[]): string {
  return `${unknownFlagMessage(typed, [...new Set(knownOptions.map(kebab))])} (flags take two dashes here, where NSQ's Go programs take one)`;
}

/**
 * Refuses, before cac reads them, Go's one-dash long flags that cac would take for bundled letters
 * with `-h` among them (`-data-path`, `-http-address`): it printed the help and exited 0, nothing
 * started, a start a supervisor counts as a success. `args`: the command line after the program,
 * the command first. Throws a usage error (exit 2) naming the flag with the two dashes it takes here.
 */
export function refuseGoStyleFlags(args: readonly string[], cli: CAC): void {
  const goStyle = args.find((arg) => /^-[a-z][a-z-]*[a-z](=|$)/i.test(arg));
  if (goStyle === undefined) return;
  const command = cli.commands.find((each) => each.name === args[0] || each.aliasNames.includes(args[0] ?? ''));
  const names = (command?.options ?? []).flatMap((option) => option.names).filter((name) => name.length > 1);
  throw new RunnerError(RunnerErrorCode.Usage, goStyleFlagMessage(goStyle, names));
}

/**
 * The line and exit status for `error`. `knownOptions`: the matched command's option names (cac's,
 * camel-cased), for "did you mean"; `argv`: the command line as given, to name a flag as it was
 * typed where cac split it (Go's one-dash `-topic`); `stacks`: add the stack (--log-level debug).
 */
export function describeFailure(error: unknown, options: { stacks: boolean; knownOptions: readonly string[]; argv?: readonly string[] }): FailureReport {
  const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, '; ');
  // By name, not instanceof: the servers' bundle carries zod/mini, not the classic ZodError class.
  if ((error as { name?: unknown } | undefined)?.name === 'ZodError') {
    const issues = (error as { issues: Array<{ path: PropertyKey[]; message: string }> }).issues;
    return { text: oneLine(issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`).join('\n')), exitCode: 2 };
  }
  if (isCacError(error)) return { text: cacMessage(error, options.knownOptions, options.argv ?? []), exitCode: 2 };
  const err = error instanceof Error ? error : new Error(thrownText(error));
  const usage = error instanceof RunnerError && error.isUsage;
  const coded = typeof (err as { code?: unknown }).code === 'string';
  // A failure without a code is unforeseen: its stack is worth having even without debug.
  const stack = options.stacks || !coded ? `\n${err.stack ?? ''}` : '';
  const message = usage ? err.message : oneLine(err.message);
  return { text: `${message}${stack}`, exitCode: usage ? 2 : 1 };
}
