/**
 * Settings and options merged from their layers — schema defaults < nsqworker.config.ts <
 * NSQWORKER_* < flags — remembering where each value came from. Two things need that: an error
 * about a bad value must name the place to fix it (the flag, the variable or the config file and
 * key, not a guess at all three), and `--help` and `list` show the value in effect and its source.
 */
import type { z } from 'zod';
import { formatDurationMs } from '../../protocol/duration.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { coerce, shownInError, type FieldSpec } from './schema-flags.ts';
import { describeExpected, schemaAt, showValue, whatWouldBeGood, type SchemaLike } from './expectation.ts';
import { hiddenValue, isSecretOption, withoutSecretKeys, withoutUrlPasswords } from './shown-values.ts';

export type ValueSourceKind = 'default' | 'config' | 'env' | 'flag';

export interface ValueOrigin {
  kind: ValueSourceKind;
  /** Where to change it, in words: `--max-in-flight`, `NSQWORKER_MAX_IN_FLIGHT`, `nsqworker.config.ts maxInFlight`. */
  where: string;
  /** The value as given there, before conversion. */
  raw: unknown;
}

export interface ConfigLayer {
  /** The config file's path, for messages. */
  file: string;
  /** The values of this option set in the file (the top level, or a worker's section). */
  values: Record<string, unknown>;
  /** How a key is named in the file: `maxInFlight`, or `workers['log/pageview'].slowThresholdMs`. */
  keyPath(key: string): string;
}

export interface Layers {
  config?: ConfigLayer;
  env?: Record<string, string | undefined>;
  flags?: Record<string, unknown>;
  /** Values fixed by the caller (the topic `dev` found); they count as flags. */
  fixed?: Record<string, unknown>;
}

export interface LayeredValues {
  values: Record<string, unknown>;
  origins: Map<string, ValueOrigin>;
}

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** Where a config key is named in a message: the file and the key. */
export function configWhere(layer: ConfigLayer, key: string): string {
  return `${layer.file}: ${layer.keyPath(key)}`;
}

/**
 * Merges the layers. Values that do not convert to their field's kind (`--max-in-flight x`) throw
 * together, one problem each naming its source, in one RunnerError: E_CONFIG_INVALID when any came
 * from the config file (a reload points at that file), E_USAGE otherwise.
 */
export function layerValues(fields: readonly FieldSpec[], layers: Layers): LayeredValues {
  const { layered, problems, inConfig } = layerValuesNamingProblems(fields, layers);
  if (problems.length > 0) throw new RunnerError(inConfig ? RunnerErrorCode.ConfigInvalid : RunnerErrorCode.Usage, problems.join('; '));
  return layered;
}

/**
 * {@link layerValues} without the throw: the values that converted (one that did not is left out,
 * as if not given), and a problem for each that did not; `inConfig` when any of those came from
 * the config file. For naming the values a schema refuses beside those, in the same line.
 */
export function layerValuesNamingProblems(fields: readonly FieldSpec[], layers: Layers): { layered: LayeredValues; problems: string[]; inConfig: boolean } {
  const values: Record<string, unknown> = {};
  const origins = new Map<string, ValueOrigin>();
  const problems: string[] = [];
  let inConfig = false;
  const converted = (convert: () => unknown, fromConfig: boolean): unknown => {
    try {
      return convert();
    } catch (error) {
      problems.push((error as Error).message);
      inConfig ||= fromConfig;
      return undefined;
    }
  };
  const config = layers.config;
  for (const field of fields) {
    if (config !== undefined && config.values[field.key] !== undefined) {
      const raw = config.values[field.key];
      const where = configWhere(config, field.key);
      // Durations take the same forms everywhere: `2s` in the config file as on the command line.
      values[field.key] = field.kind === 'duration' && typeof raw === 'string' ? converted(() => coerce(field, raw, where, 'config'), true) : raw;
      origins.set(field.key, { kind: 'config', where, raw });
    }
    const fromEnv = layers.env?.[field.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      values[field.key] = converted(() => coerce(field, fromEnv, field.env), false);
      origins.set(field.key, { kind: 'env', where: field.env, raw: fromEnv });
    }
    const fromFlag = layers.flags?.[camel(field.flag)];
    if (fromFlag !== undefined) {
      values[field.key] = converted(() => coerce(field, fromFlag, `--${field.flag}`), false);
      origins.set(field.key, { kind: 'flag', where: `--${field.flag}`, raw: Array.isArray(fromFlag) ? fromFlag.at(-1) : fromFlag });
    }
    if (layers.fixed?.[field.key] !== undefined) {
      values[field.key] = layers.fixed[field.key];
      origins.set(field.key, { kind: 'flag', where: `--${field.flag}`, raw: layers.fixed[field.key] });
    }
  }
  return { layered: { values, origins }, problems, inConfig };
}

/**
 * Validates merged values against the schema. A failure is one line per problem naming where the
 * bad value was given, the value, and what would be good; its code is E_CONFIG_INVALID when a bad
 * value came from the config file (so a reload points at that file), E_USAGE otherwise.
 */
export function parseLayered<S extends z.ZodObject>(schema: S, fields: readonly FieldSpec[], layered: LayeredValues, what: string): z.output<S> {
  const result = schema.safeParse(layered.values);
  if (result.success) return result.data;
  const { problems, fromConfig, unplaced } = describeIssues(schema, fields, layered, what, result.error.issues);
  const code = fromConfig ? RunnerErrorCode.ConfigInvalid : RunnerErrorCode.Usage;
  // A problem that names its flag, variable or config key needs no heading; one with no source does.
  throw new RunnerError(code, `${unplaced ? `invalid ${what}: ` : ''}${problems.join('; ')}`, { cause: result.error });
}

/**
 * The problems with the values given in the config file, the environment or flags, one line each
 * as {@link parseLayered} words them; [] when they are good. A required value that is not given
 * yet is no problem here: `nsqworker list` has no command line, the run that needs it will.
 */
export function givenValueProblems(schema: z.ZodObject, fields: readonly FieldSpec[], layered: LayeredValues, what: string): string[] {
  const result = schema.safeParse(layered.values);
  if (result.success) return [];
  const isGiven = (kind: ValueSourceKind | undefined): boolean => kind !== undefined && kind !== 'default';
  // An issue of the whole object (a refine across options, an unknown key) is the given values' when any was given.
  const anyGiven = [...layered.origins.values()].some((origin) => isGiven(origin.kind));
  // A value given that did not convert is undefined here, and said already by its conversion: not twice.
  const judged = (key: string): boolean => isGiven(layered.origins.get(key)?.kind) && layered.values[key] !== undefined;
  const given = result.error.issues.filter((issue) => (issue.path.length === 0 ? anyGiven : judged(String(issue.path[0]))));
  return describeIssues(schema, fields, layered, what, given).problems;
}

function describeIssues(
  schema: z.ZodObject,
  fields: readonly FieldSpec[],
  layered: LayeredValues,
  what: string,
  issues: readonly z.core.$ZodIssue[],
): { problems: string[]; fromConfig: boolean; unplaced: boolean } {
  const byKey = new Map(fields.map((field) => [field.key, field]));
  let fromConfig = false;
  let unplaced = false;
  const problems = issues.map((issue) => {
    const key = String(issue.path[0]);
    const origin = layered.origins.get(key);
    const field = byKey.get(key);
    if (origin?.kind === 'config') fromConfig = true;
    // One element of a list is judged, and named, by itself: `--nsqd-tcp-address "localhost"`.
    const value = layered.values[key];
    const inList = Array.isArray(value) && typeof issue.path[1] === 'number';
    // Inside an object option (JSON on a command line), or an object in a list: the key at fault, and what fits there.
    const inObject = field?.kind === 'json' && issue.path.length > 1;
    const keyPath = inObject ? issue.path.slice(1) : inList ? issue.path.slice(2) : [];
    const at = inList || inObject ? schemaAt(schema as unknown as SchemaLike, issue.path) : undefined;
    const inConfig = origin?.kind === 'config';
    const durationIn = field?.kind === 'duration' && (inConfig ? 'config' : 'flag');
    const good =
      (keyPath.length > 0 ? `${keyPath.join('.')}: ` : '') +
      whatWouldBeGood(issue, at === undefined ? (inConfig ? field?.expectedInConfig : field?.expected) : describeExpected(at, durationIn));
    if (origin !== undefined) return `${origin.where} ${shownInError({ key }, inList ? value[issue.path[1] as number] : origin.raw)}: ${good}`;
    unplaced = true;
    // Given nowhere: zod's "expected a string" for a value nobody gave reads as a wrong type.
    if (field !== undefined && value === undefined && field.required) return `--${field.flag} (${field.env}) is required and not given (${good})`;
    if (field !== undefined) return `--${field.flag} (${field.env}): ${good}`;
    return `${issue.path.join('.') || what}: ${good}`;
  });
  return { problems, fromConfig, unplaced };
}

/** A value for people: durations in their unit (`500ms`), strings quoted. */
export function formatValue(field: FieldSpec, value: unknown): string {
  if (field.kind === 'duration' && typeof value === 'number') return formatDurationMs(value);
  // A list of words as it is written (`a,b`); one with objects, arrays or commas in its words as JSON.
  if (Array.isArray(value)) return value.every((element) => ['number', 'boolean'].includes(typeof element) || (typeof element === 'string' && !element.includes(','))) ? value.join(',') : JSON.stringify(value);
  return typeof value === 'string' || (typeof value === 'object' && value !== null) ? JSON.stringify(value) : String(value);
}

/**
 * The value in effect and where it came from, as `--help` and `list` print it: `(default: 500ms)`,
 * or `(300ms from nsqworker.config.ts: workers['log/pageview'].slowThresholdMs; default: 500ms)`.
 */
export function describeEffective(field: FieldSpec, effective: unknown, origin: ValueOrigin | undefined): string {
  // Output people paste into issues: a secret's value, or a URL's password, is not in it (shown-values.ts).
  const shown = (formatted: string): string => (isSecretOption(field.key) ? hiddenValue(formatted) : withoutUrlPasswords(formatted));
  const def = field.defaultValue === undefined || (Array.isArray(field.defaultValue) && field.defaultValue.length === 0) ? undefined : shown(formatValue(field, withoutSecretKeys(field.defaultValue)));
  if (origin === undefined || origin.kind === 'default') {
    if (def === undefined) return field.required ? ' (required; not given)' : '';
    return ` (default: ${def})`;
  }
  const value = shown(effective === undefined ? showValue(withoutSecretKeys(origin.raw), Number.POSITIVE_INFINITY) : formatValue(field, withoutSecretKeys(effective)));
  const source = origin.kind === 'config' ? `config ${origin.where}` : origin.kind === 'env' ? `env ${origin.where}` : `flag ${origin.where}`;
  return ` (${value} from ${source}${def === undefined ? '' : `; default: ${def}`})`;
}
