/**
 * One zod schema per option set gives the type, default, validation, help text, command-line flag
 * and environment variable of every option. This reads a `z.object` into that table, and turns
 * strings from a command line or the environment into values of the right kind; the schema itself
 * then validates and fills defaults.
 *
 * Naming: `maxInFlight` is `--max-in-flight` and `NSQWORKER_MAX_IN_FLIGHT`. A key ending in `Ms` is
 * a duration: its flag drops the suffix (`shutdownTimeoutMs` is `--shutdown-timeout`) and takes a
 * Go duration (`30s`, `250ms`) with its unit, as nsqd's flags do: a bare `90` could mean seconds or
 * milliseconds, so it is refused (but `0`). A number in the config file is milliseconds: its key says `Ms`.
 */
import type { z } from 'zod';
import { MissingUnitError, parseGoDurationMs } from '../../protocol/duration.ts';
import { didYouMean } from '../../protocol/suggest.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { describeExpected, durationWithUnit, showValue, unwrap, type DurationWrittenIn, type SchemaLike } from './expectation.ts';
import { isSecretOption, shownSafely } from './shown-values.ts';

/** The words a boolean flag or variable takes, in any case. */
export const TRUE_WORDS: ReadonlySet<string> = new Set(['true', '1', 'yes', 'on']);
export const FALSE_WORDS: ReadonlySet<string> = new Set(['false', '0', 'no', 'off']);
/** What a boolean flag or variable given another word is told. */
const BOOLEAN_EXPECTED = 'true or false (or 1/0, yes/no, on/off)';

/** A variable's boolean word read ahead of its field (true/1/yes/on are true, any other word false), or undefined when unset or empty. */
export function isTrueWord(value: string | undefined): boolean | undefined {
  return value === undefined || value === '' ? undefined : TRUE_WORDS.has(value.toLowerCase());
}

export type FieldKind = 'string' | 'number' | 'boolean' | 'enum' | 'list' | 'duration' | 'json';

/** What each element of a list is converted to from a flag's or variable's text: `json` an object, `array` an array (or tuple), each as JSON. */
/** `number-or-word`: a union of numbers and words (`z.union([z.number(), z.literal('auto')])`): each word that reads as a number is one. */
export type ListElementKind = 'string' | 'number' | 'number-or-word' | 'boolean' | 'json' | 'array';

export interface FieldSpec {
  key: string;
  flag: string;
  env: string;
  kind: FieldKind;
  description: string;
  defaultValue: unknown;
  required: boolean;
  enumValues: readonly string[];
  /** A list's elements: numbers and booleans are converted from their words, objects and arrays read as JSON. */
  elementKind?: ListElementKind;
  /** A union of numbers and fixed words (`z.union([z.number(), z.literal('auto')])`): a value that reads as a number is one. */
  numericWords?: boolean;
  /** What a good value is, in words (`a whole number of at least 1`), for errors; undefined when the schema's kind is not described. */
  expected: string | undefined;
  /** The same for a value in the config file, where a duration may also be a number of milliseconds. */
  expectedInConfig: string | undefined;
  /**
   * An object option's schema, when it drops keys outside its shape (z.object, not z.looseObject,
   * z.strictObject or z.record): a key given as JSON that it, or an object in it, would drop is
   * refused rather than dropped in silence.
   */
  objectSchema?: SchemaLike;
}

interface ZodLike extends SchemaLike {
  def: SchemaLike['def'] & { innerType?: ZodLike; defaultValue?: unknown };
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
              : type === 'object' || type === 'record'
                ? 'json'
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
      enumValues: kind === 'enum' ? Object.values(inner.def.entries ?? {}).map(String) : [],
      // An object is given on the command line and in the environment as JSON; the config file writes it as it is.
      expected: kind === 'json' ? `an object as JSON${defaultValue === undefined ? '' : `, such as ${JSON.stringify(defaultValue)}`}` : describeExpected(inner, isDuration && 'flag'),
      expectedInConfig: describeExpected(inner, isDuration && 'config'),
      ...(type === 'object' ? { objectSchema: inner } : {}),
      ...(kind === 'list' ? listFieldOf(inner) : {}),
      ...(type === 'union' && elementKindOf(inner) === 'number-or-word' ? { numericWords: true } : {}),
    };
  });
}

/** How an element schema is written in a flag's value: `json` for an object (or a union with one), `array` for an array or tuple. */
function elementKindOf(element: SchemaLike | undefined): ListElementKind {
  const def = element === undefined ? undefined : unwrap(element).def;
  switch (def?.type) {
    case 'number':
    case 'int':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
    case 'record':
      return 'json';
    case 'array':
    case 'tuple':
      return 'array';
    case 'literal': {
      // z.literal(80), z.literal([80, 443]): numbers as for z.number(); so booleans.
      const values = def.values ?? [];
      return values.length > 0 && values.every((value) => typeof value === 'number') ? 'number' : values.length > 0 && values.every((value) => typeof value === 'boolean') ? 'boolean' : 'string';
    }
    case 'union': {
      const kinds = (def.options ?? []).map(elementKindOf);
      if (kinds.includes('json')) return 'json';
      if (kinds.includes('array')) return 'array';
      // All numbers (literals among them), or all booleans: converted as such; numbers and words
      // (`1,auto`): each word a number is converted; other unions stay words.
      if (kinds.length > 0 && kinds.every((kind) => kind === kinds[0])) return kinds[0]!;
      // Only where the words are literals or an enum: beside a free z.string(), "02134" stays a word.
      const wordsFixed = (def.options ?? []).every((option, index) => kinds[index] === 'number' || ['literal', 'enum'].includes(unwrap(option).def.type));
      return kinds.includes('number') && wordsFixed ? 'number-or-word' : 'string';
    }
    default:
      return 'string'; // a string enum, a string literal, a union of words: kept as written
  }
}

/**
 * A list field's element kind, and for elements written as JSON, how to write them and (objects) the
 * schema that refuses keys they would drop.
 */
function listFieldOf(array: ZodLike): Partial<Pick<FieldSpec, 'elementKind' | 'objectSchema' | 'expected'>> {
  const element = array.def.element === undefined ? undefined : unwrap(array.def.element);
  const elementKind = elementKindOf(element);
  if (elementKind !== 'json' && elementKind !== 'array') return { elementKind };
  const noun = elementKind === 'array' ? 'array' : 'object';
  const expected = `a JSON array of ${noun}s, or one ${noun} as JSON per value`;
  return { elementKind, expected, ...(element?.def.type === 'object' ? { objectSchema: element } : {}) };
}

/** Whether a value read as JSON is the whole list: for elements that are arrays, an array of arrays. */
function isWholeList(kind: ListElementKind, parsed: unknown): parsed is unknown[] {
  if (!Array.isArray(parsed)) return false;
  if (kind === 'array') return parsed.every(Array.isArray);
  // Text that reads as a JSON array of other things than words is words too (`[0]`, a pattern).
  return kind !== 'string' || parsed.every((element) => typeof element === 'string');
}

/**
 * A list's elements from one flag or variable value: a JSON array whole (`[{"sku":"a"},{"sku":"b"}]`),
 * one JSON object (or array) when the elements are written as JSON (their commas are JSON's), else
 * the text split at commas (`--ids 1,2 --ids 3`), each element converted to its kind. Text that
 * starts with `[` but is no JSON array is words like any other (a pattern, `[0-9]+`). A word that
 * does not convert is kept as it is, for the schema to name with its element's path.
 */
function listElements(field: FieldSpec, value: unknown, bad: (cause: unknown, expected?: string) => RunnerError): unknown[] {
  if (typeof value !== 'string') return [value];
  const text = value.trim();
  const kind = field.elementKind ?? 'string';
  const asJson = kind === 'json' || kind === 'array';
  if (asJson || text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch (error) {
      // No number or boolean starts with [: a JSON array broken somewhere, said so rather than split.
      if (asJson || kind === 'number' || kind === 'boolean') throw bad(error, asJson ? undefined : `${field.expected ?? 'a list'}: values separated by commas, or a JSON array (${(error as Error).message})`);
    }
    if (asJson) {
      const elements = text.startsWith('[') && isWholeList(kind, parsed) ? parsed : [parsed];
      for (const element of elements) checkObjectKeys(field, element, bad);
      return elements;
    }
    if (isWholeList(kind, parsed)) return parsed;
  }
  const words = text.split(',').map((word) => word.trim()).filter((word) => word !== '');
  if (kind === 'number' || kind === 'number-or-word') return words.map((word) => (Number.isNaN(Number(word)) ? word : Number(word)));
  if (kind === 'boolean') return words.map((word) => (TRUE_WORDS.has(word.toLowerCase()) ? true : FALSE_WORDS.has(word.toLowerCase()) ? false : word));
  return words;
}

/**
 * Converts one raw value (a flag's, an environment variable's, or a duration string in the config
 * file: `writtenIn` 'config') to the field's kind. A value that does not convert is named as every bad value is: where it
 * was given, the value, and what would be good.
 */
/**
 * A bad value as an error quotes it: a secret's is not quoted, nor a URL's password (shown-values.ts),
 * since errors land in CI logs and journals too.
 */
export function shownInError(field: Pick<FieldSpec, 'key'>, value: unknown): string {
  return shownSafely(value, isSecretOption(field.key));
}

export function coerce(field: FieldSpec, raw: unknown, source: string, writtenIn: DurationWrittenIn = 'flag'): unknown {
  const values = Array.isArray(raw) ? raw : [raw];
  const last = values[values.length - 1];
  const bad = (cause?: unknown, expected = (writtenIn === 'config' ? field.expectedInConfig : field.expected) ?? field.kind): RunnerError =>
    new RunnerError(RunnerErrorCode.Usage, `${source} ${shownInError(field, last)}: expected ${expected}`, { cause });
  switch (field.kind) {
    case 'list':
      // Each value is named on its own: one of several repeated flags may be the bad one.
      return values.flatMap((value) => listElements(field, value, (cause, expected = field.expected ?? 'a list') => new RunnerError(RunnerErrorCode.Usage, `${source} ${shownInError(field, value)}: expected ${expected}`, { cause })));
    case 'number': {
      const value = typeof last === 'number' ? last : Number(String(last).trim());
      if (String(last).trim() === '' || Number.isNaN(value)) throw bad();
      return value;
    }
    case 'duration':
      try {
        return parseGoDurationMs(String(last));
      } catch (error) {
        throw bad(error, error instanceof MissingUnitError ? durationWithUnit(String(last).trim(), writtenIn) : undefined);
      }
    case 'boolean':
      if (last === true || last === false) return last;
      if (TRUE_WORDS.has(String(last).toLowerCase())) return true;
      if (FALSE_WORDS.has(String(last).toLowerCase())) return false;
      throw bad(undefined, writtenIn === 'config' ? undefined : BOOLEAN_EXPECTED);
    case 'json':
      if (typeof last !== 'string') return last;
      let parsed: unknown;
      try {
        parsed = JSON.parse(last) as unknown;
      } catch (error) {
        throw bad(error);
      }
      checkObjectKeys(field, parsed, bad);
      return parsed;
    default: {
      const text = String(last).trim();
      return field.numericWords === true && text !== '' && !Number.isNaN(Number(text)) ? Number(text) : String(last);
    }
  }
}

/** A key a JSON object value has where its schema drops it: its path, and the keys the schema has there. */
interface DroppedKey {
  path: string;
  known: string[];
}

/** The keys of `value` that `schema` (a strip-mode z.object, at any depth) would drop, as paths. */
function droppedKeys(schema: SchemaLike, value: unknown, prefix = ''): DroppedKey[] {
  const def = unwrap(schema).def;
  // Into an array's elements too: `lines.0.skuu`.
  if (def.type === 'array' && def.element !== undefined && Array.isArray(value)) return value.flatMap((element, index) => droppedKeys(def.element!, element, `${prefix}${index}.`));
  if (def.type !== 'object' || def.catchall !== undefined || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const shape = def.shape ?? {};
  const known = Object.keys(shape);
  return Object.entries(value).flatMap(([key, inner]) => (Object.hasOwn(shape, key) ? droppedKeys(shape[key]!, inner, `${prefix}${key}.`) : [{ path: `${prefix}${key}`, known }]));
}

/** Refuses a key of a JSON object value that the option's object would drop (FieldSpec.objectSchema), naming the nearest known key. */
function checkObjectKeys(field: FieldSpec, value: unknown, bad: (cause: unknown, expected: string) => RunnerError): void {
  if (field.objectSchema === undefined) return;
  const dropped = droppedKeys(field.objectSchema, value);
  if (dropped.length === 0) return;
  const said = dropped.map(({ path, known }) => {
    const parent = path.includes('.') ? `${path.slice(0, path.lastIndexOf('.'))}'s` : 'its';
    const key = path.slice(path.lastIndexOf('.') + 1);
    return `${JSON.stringify(path)} is not among ${parent} keys (${known.join(', ') || 'it takes none'})${didYouMean(key, known)}`;
  });
  throw bad(undefined, `${field.expected ?? 'an object as JSON'}: ${said.join('; ')}`);
}
