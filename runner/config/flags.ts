/**
 * Flag tables to command lines: a server's flags are declared once (name, option, kind, help) beside
 * its options schema; this turns a table into cac options and the parsed values back into typed
 * options. The schema owns defaults and bounds, so absent flags are left out here.
 */
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import type { Command } from 'cac';
import { formatDurationMs, parseGoDurationMs } from '../../protocol/duration.ts';
import { ENGLISH } from '../../protocol/zod-english.ts';
import { parseHostPort } from '../../protocol/address.ts';

/** `switch`: a flag that may stand alone (true) or take a value (`--snappy=false`, `--tls-required=tcp-https`). */
export type FlagKind = 'string' | 'int' | 'duration' | 'list' | 'switch';

export interface FlagSpec {
  flag: string;
  option: string;
  kind: FlagKind;
  description: string;
}

/** A bad flag value: the CLI prints it and exits with status 2. */
export class UsageError extends RunnerError {
  override readonly name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(RunnerErrorCode.Usage, message, options);
  }
}

/**
 * Adds `flags` to `command`; with `defaults` (the server's options parsed from nothing), each help line
 * ends with its default as nsqd's `-help` prints it (`(default 1m0s)`), unless its text already gives one.
 */
export function addFlags(command: Command, flags: readonly FlagSpec[], defaults?: Readonly<Record<string, unknown>>): Command {
  for (const spec of flags) {
    const description = spec.description + (defaults === undefined ? '' : defaultNote(spec, defaults[spec.option]));
    if (spec.kind === 'switch') {
      command.option(`--${spec.flag} [value]`, description);
      continue;
    }
    const placeholder = spec.kind === 'int' ? '<n>' : spec.kind === 'duration' ? '<duration>' : '<value>';
    command.option(`--${spec.flag} ${placeholder}`, description);
  }
  return command;
}

function defaultNote(spec: FlagSpec, value: unknown): string {
  if (/\(default|defaults to|; default /i.test(spec.description) || value === undefined || value === '' || Array.isArray(value)) return '';
  if (spec.option === 'dataPath') return ' (default: the current folder)';
  return ` (default ${spec.kind === 'duration' ? formatDurationMs(value as number) : String(value)})`;
}

/** cac's name for a flag's value: `--mem-queue-size` is `memQueueSize`. */
const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

function convert(spec: FlagSpec, raw: unknown): unknown {
  const one = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  switch (spec.kind) {
    case 'string':
      return checkAddress(spec, String(one));
    case 'int': {
      const value = Number(one);
      if (!Number.isInteger(value)) throw new UsageError(`--${spec.flag} takes a whole number, got ${JSON.stringify(one)}`);
      return value;
    }
    case 'duration':
      try {
        return parseGoDurationMs(typeof one === 'number' ? one : String(one));
      } catch (error) {
        throw new UsageError(`--${spec.flag}: ${(error as Error).message}`);
      }
    case 'switch': {
      // A bare flag is true; true/false (and Go's 1/0) are booleans; any other word is left for the schema to judge.
      const text = String(one);
      if (one === true || text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      return text;
    }
    case 'list':
      return (Array.isArray(raw) ? raw : [raw])
        .flatMap((value) => String(value).split(','))
        .filter((value) => value !== '')
        .map((value) => checkAddress(spec, value));
  }
}

/** The options given on the command line, converted to their kinds; absent flags are absent. */
export function optionsFromFlags(parsed: Record<string, unknown>, flags: readonly FlagSpec[]): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const spec of flags) {
    const raw = parsed[camel(spec.flag)];
    if (raw === undefined || (raw === true && spec.kind !== 'switch')) continue;
    options[spec.option] = convert(spec, raw);
  }
  return options;
}

/**
 * An `…Address` option takes host:port; a malformed one is the user's to fix, before anything listens.
 * Not `--broadcast-address`: a host alone, registered beside the ports (nsqd/lookup.go).
 */
function checkAddress(spec: FlagSpec, value: string): string {
  if (!/Address(es)?$/.test(spec.option) || spec.option === 'broadcastAddress') return value;
  try {
    parseHostPort(value);
  } catch {
    throw new UsageError(`--${spec.flag} ${JSON.stringify(value)}: expected host:port (e.g. 127.0.0.1:4150; port 0 picks a free one)`);
  }
  return value;
}

/**
 * Checks options against the server's schema before it starts, so a bad value is named by its
 * flag and value (`--mem-queue-size -1: …`), not by the option's name inside the code.
 */
/** What checkFlagOptions needs of a schema: zod's classic and mini objects both have it. */
export interface SafeParser {
  safeParse(value: unknown, context?: typeof ENGLISH): { success: true } | { success: false; error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } };
}

export function checkFlagOptions(schema: SafeParser, options: Record<string, unknown>, flags: readonly FlagSpec[]): void {
  const result = schema.safeParse(options, ENGLISH);
  if (result.success) return;
  const problems = result.error.issues.map((issue) => {
    const spec = flags.find((candidate) => candidate.option === issue.path[0]);
    if (spec === undefined) return `${issue.path.map(String).join('.')}: ${issue.message}`;
    return `--${spec.flag} ${JSON.stringify(options[spec.option])}: ${issue.message}`;
  });
  throw new UsageError(problems.join('; '), { cause: result.error });
}
