/**
 * The command line of `nsqworker --topic T --channel C`, read against the flags the runner and the
 * worker declare. Not cac: cac reads argv through mri, which turns every value that looks like a
 * number into one (`--label 007` arrived as 7, `--topic-prefix 1e3` as 1000, `--channel 0123` as
 * channel "123" while the worker file found was `_0123_`), takes `--offset -5` for a short flag
 * `-5`, and drops stray words without a word. Here every value stays the text the user typed, and
 * the field's kind (schema-flags.ts) converts it.
 */
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { FALSE_WORDS, TRUE_WORDS, type FieldSpec } from './schema-flags.ts';
import { unknownFlagMessage } from '../../protocol/suggest.ts';

/** A flag neither the runner nor the worker declares (E_USAGE); `flag` is its name without dashes. */
export class UnknownFlagError extends RunnerError {
  override readonly name = 'UnknownFlagError';
  constructor(
    readonly flag: string,
    known: readonly string[],
  ) {
    super(RunnerErrorCode.Usage, unknownFlagMessage(`--${flag}`, known));
  }
}

/** Raw flag values keyed by camel-cased flag name (`maxInFlight`), as valuesFromFlags reads them. */
export type RawFlags = Record<string, string | boolean | Array<string | boolean>>;

const BOOLEAN_WORDS = new Set([...TRUE_WORDS, ...FALSE_WORDS]);

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

function usage(message: string): RunnerError {
  return new RunnerError(RunnerErrorCode.Usage, message);
}

/**
 * Parses `args` (argv without node and the script). A flag is `--name value` or `--name=value`; a
 * value may start with a single dash (`--offset -5`) but not with two. A boolean flag alone is
 * true, `--no-name` is false, and it takes the next word only when that word is true/false/1/0/yes/no/on/off.
 * `valueFlags` are extra flags that take a value (`config`); `switches` extra ones that do not (`help`).
 * A repeated flag collects its values in order.
 */
export function parseRunArgv(
  args: readonly string[],
  fields: readonly FieldSpec[],
  extra: { valueFlags: readonly string[]; switches: readonly string[]; passUnknown?: boolean },
): RawFlags {
  const byFlag = new Map<string, FieldSpec | 'value' | 'switch'>();
  for (const field of fields) byFlag.set(field.flag, field);
  for (const flag of extra.valueFlags) byFlag.set(flag, 'value');
  for (const flag of extra.switches) byFlag.set(flag, 'switch');
  const out: RawFlags = {};
  const set = (flag: string, value: string | boolean): void => {
    const key = camel(flag);
    const previous = out[key];
    out[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  };

  // A boolean flag given alone just before: a word after it reads as its value to a newcomer.
  let bareBoolean: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const afterBoolean = bareBoolean;
    bareBoolean = undefined;
    if (arg === '-h') {
      set('help', true);
      continue;
    }
    if (extra.passUnknown === true && !arg.startsWith('--')) continue;
    if (/^-[^-]/.test(arg) && Number.isNaN(Number(arg))) throw usage(`${unknownFlagMessage(arg, [...byFlag.keys()])} (flags are --name value)`);
    if (!arg.startsWith('--') || arg === '--') {
      if (afterBoolean !== undefined && arg !== '--') {
        throw usage(`unexpected argument ${JSON.stringify(arg)} after --${afterBoolean}, which takes no value: alone it is true; --${afterBoolean}=false or --no-${afterBoolean} turns it off`);
      }
      throw usage(`unexpected argument ${JSON.stringify(arg)}: flags are --name value (a value that starts with -- needs --name=value)`);
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    let spec = byFlag.get(name);
    if (spec === undefined && name.startsWith('no-') && inline === undefined) {
      const negated = byFlag.get(name.slice(3));
      if (negated !== undefined && negated !== 'value' && negated !== 'switch' && negated.kind === 'boolean') {
        set(negated.flag, false);
        continue;
      }
    }
    if (spec === undefined && extra.passUnknown === true) {
      // Most likely the worker's, and most of its options take a value: the next word is passed over with it.
      if (inline === undefined && args[i + 1]?.startsWith('--') === false) i++;
      continue;
    }
    if (spec === undefined) throw new UnknownFlagError(name, [...byFlag.keys()]);
    if (spec === 'switch') {
      set(name, true);
      continue;
    }
    if (inline !== undefined) {
      set(name, inline);
      continue;
    }
    const next = args[i + 1];
    if (spec !== 'value' && spec.kind === 'boolean') {
      if (next !== undefined && BOOLEAN_WORDS.has(next.toLowerCase())) {
        set(name, next);
        i++;
      } else {
        set(name, true);
        bareBoolean = name;
      }
      continue;
    }
    if (next === undefined || next.startsWith('--')) {
      if (extra.passUnknown === true) continue;
      throw usage(`--${name} needs a value`);
    }
    set(name, next);
    i++;
  }
  return out;
}

/**
 * The values `args` give the runner's own flags (`fields`), read before the worker's flags are known
 * (parseRunArgv needs them, known once its file has loaded), so that a bad value of a runner flag is
 * said before the worker loads: 0.3 s after the command, not 0.7. Every other flag, and the word after
 * it, is passed over, and nothing is refused here: parseRunArgv reads the whole line once the worker
 * is known, and says what is wrong with the rest.
 */
export function runnerFlagsAhead(args: readonly string[], fields: readonly FieldSpec[]): RawFlags {
  return parseRunArgv(args, fields, { valueFlags: [], switches: ['help'], passUnknown: true });
}

/**
 * What `args` say of the boolean flag `--<flag>` before they can be read (parseRunArgv needs the
 * worker's flags, known once its file has loaded): its last `--flag`, `--flag <word>`,
 * `--flag=<word>` or `--no-flag`, read as parseRunArgv reads them; undefined when not given. A
 * guess that never throws: the real reading decides, and says what is wrong.
 */
export function booleanFlagAhead(args: readonly string[], flag: string): boolean | undefined {
  let given: boolean | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === `--no-${flag}`) given = false;
    else if (arg.startsWith(`--${flag}=`)) given = TRUE_WORDS.has(arg.slice(flag.length + 3).toLowerCase());
    else if (arg === `--${flag}`) {
      const next = args[i + 1]?.toLowerCase();
      given = next !== undefined && BOOLEAN_WORDS.has(next) ? TRUE_WORDS.has(next) : true;
    }
  }
  return given;
}

/** Flags the runner reads before it knows the worker. */
export interface Prescan {
  topic?: string;
  channel?: string;
  workersDir?: string;
  config?: string;
  help: boolean;
  /** --version or -v anywhere, as the CLI reads it (cli-report.ts): the version is printed, nothing run. */
  version: boolean;
}

/**
 * --topic, --channel, --workers-dir, --config and --help, read before anything is known of the
 * worker: which file to load, and where from. A guess that never throws, as runnerFlagsAhead.
 */
export function prescan(argv: readonly string[]): Prescan {
  const out: Prescan = { help: false, version: false };
  const wanted: Record<string, keyof Omit<Prescan, 'help' | 'version'>> = {
    '--topic': 'topic',
    '--channel': 'channel',
    '--workers-dir': 'workersDir',
    '--config': 'config',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') out.help = true;
    if (arg === '--version' || arg === '-v') out.version = true;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = wanted[name];
    if (key === undefined) continue;
    out[key] = eq > 0 ? arg.slice(eq + 1) : argv[++i];
  }
  return out;
}
