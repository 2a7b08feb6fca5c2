/**
 * One zod schema per option set gives the type, default, validation, help text, command-line flag
 * and environment variable of every option. This reads a `z.object` into that table, and turns
 * strings from a command line or the environment into values of the right kind; the schema itself
 * then validates and fills defaults.
 *
 * Naming: `maxInFlight` is `--max-in-flight` and `NSQWORKER_MAX_IN_FLIGHT`. A key ending in `Ms` is
 * a duration: its flag drops the suffix (`shutdownTimeoutMs` is `--shutdown-timeout`) and takes a
 * Go duration (`30s`) or milliseconds.
 */
import type { z } from 'zod';
import { parseDurationMs } from '../../protocol/duration.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';

export type FieldKind = 'string' | 'number' | 'boolean' | 'enum' | 'list' | 'duration';

export interface FieldSpec {
  key: string;
  flag: string;
  env: string;
  kind: FieldKind;
  description: string;
  defaultValue: unknown;
  required: boolean;
  enumValues: readonly string[];
}

interface ZodDefLike {
  type: string;
  innerType?: ZodLike;
  defaultValue?: unknown;
  entries?: Record<string, string>;
}
interface ZodLike {
  def: ZodDefLike;
  description?: string;
}

const WRAPPERS = new Set(['default', 'optional', 'nullable', 'prefault', 'readonly', 'catch']);

const kebab = (key: string): string => key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

export function envName(key: string, prefix = 'NSQWORKER_'): string {
  return `${prefix}${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

/** The fields of an object schema. `flagNames` overrides derived flag names (e.g. for repeatable flags). */
export function fieldsOf(schema: z.ZodObject, flagNames: Readonly<Record<string, string>> = {}): FieldSpec[] {
  return Object.entries(schema.shape as Record<string, ZodLike>).map(([key, field]) => {
    let inner: ZodLike = field;
    let defaultValue: unknown;
    let required = true;
    let description = field.description ?? '';
    while (WRAPPERS.has(inner.def.type) && inner.def.innerType !== undefined) {
      if (inner.def.type === 'default') defaultValue = inner.def.defaultValue;
      required = false;
      inner = inner.def.innerType;
      description ||= inner.description ?? '';
    }
    const isDuration = key.endsWith('Ms') && inner.def.type === 'number';
    const type = inner.def.type;
    const kind: FieldKind = isDuration
      ? 'duration'
      : type === 'number' || type === 'int'
        ? 'number'
        : type === 'boolean'
          ? 'boolean'
          : type === 'enum'
            ? 'enum'
            : type === 'array'
              ? 'list'
              : 'string';
    const baseKey = isDuration ? key.slice(0, -2) : key;
    return {
      key,
      flag: flagNames[key] ?? kebab(baseKey),
      env: envName(baseKey),
      kind,
      description,
      defaultValue,
      required,
      enumValues: kind === 'enum' ? Object.values(inner.def.entries ?? {}) : [],
    };
  });
}

function usage(message: string): RunnerError {
  return new RunnerError(RunnerErrorCode.Usage, message);
}

/** Converts one raw value (a flag's or an environment variable's) to the field's kind. */
export function coerce(field: FieldSpec, raw: unknown, source: string): unknown {
  const values = Array.isArray(raw) ? raw : [raw];
  const last = values[values.length - 1];
  switch (field.kind) {
    case 'list':
      return values.flatMap((value) => String(value).split(',')).map((value) => value.trim()).filter((value) => value !== '');
    case 'number': {
      const value = typeof last === 'number' ? last : Number(String(last).trim());
      if (String(last).trim() === '' || Number.isNaN(value)) throw usage(`${source} takes a number, got ${JSON.stringify(last)}`);
      return value;
    }
    case 'duration':
      try {
        return parseDurationMs(typeof last === 'number' ? last : String(last));
      } catch (error) {
        throw usage(`${source}: ${(error as Error).message}`);
      }
    case 'boolean':
      if (last === true || last === false) return last;
      if (['true', '1', 'yes'].includes(String(last).toLowerCase())) return true;
      if (['false', '0', 'no'].includes(String(last).toLowerCase())) return false;
      throw usage(`${source} takes true or false, got ${JSON.stringify(last)}`);
    default:
      return String(last);
  }
}

/** Values set through NSQWORKER_* environment variables. */
export function valuesFromEnv(fields: readonly FieldSpec[], env: NodeJS.ProcessEnv): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    const raw = env[field.env];
    if (raw !== undefined && raw !== '') values[field.key] = coerce(field, raw, field.env);
  }
  return values;
}

/** Values given on the command line (cac's parsed options, keyed by camel-cased flag name). */
export function valuesFromFlags(fields: readonly FieldSpec[], parsed: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    const camelFlag = field.flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
    const raw = parsed[camelFlag];
    if (raw === undefined) continue;
    values[field.key] = coerce(field, raw, `--${field.flag}`);
  }
  return values;
}

/** Validates merged values against the schema; a failure names the flag and the variable to fix. */
export function parseWithFields<S extends z.ZodObject>(schema: S, fields: readonly FieldSpec[], values: Record<string, unknown>, what: string): z.output<S> {
  const result = schema.safeParse(values);
  if (result.success) return result.data;
  const byKey = new Map(fields.map((field) => [field.key, field]));
  const problems = result.error.issues.map((issue) => {
    const field = byKey.get(String(issue.path[0]));
    const where = field === undefined ? issue.path.join('.') || what : `--${field.flag} (${field.env})`;
    return `${where}: ${issue.message}`;
  });
  throw new RunnerError(RunnerErrorCode.Usage, `invalid ${what}:\n  ${problems.join('\n  ')}`, { cause: result.error });
}
