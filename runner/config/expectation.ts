/**
 * What a value should have been, in the words a user writes values in. zod's own wording ("Invalid
 * input: expected number, received string", "Too small: expected number to be >=1") names its types
 * and operators; an error about a flag, an NSQWORKER_* variable or a config key should say what to
 * write there instead (`a whole number of at least 1`, `a duration such as 250ms…`, `true or false`).
 * Reads schemas by their `def`, as schema-flags.ts does, so a worker's own zod copy reads the same.
 */

/** The parts of a zod (v4) schema this reads. */
export interface SchemaLike {
  def: {
    type: string;
    innerType?: SchemaLike;
    out?: SchemaLike;
    element?: SchemaLike;
    valueType?: SchemaLike;
    /** A union's schemas. */
    options?: readonly SchemaLike[];
    shape?: Record<string, SchemaLike>;
    /** An object's schema for keys outside its shape: undefined for z.object, which drops them. */
    catchall?: SchemaLike;
    entries?: Record<string, string | number>;
    values?: readonly unknown[];
    checks?: ReadonlyArray<{ _zod: { def: { check: string; format?: string; value?: unknown; inclusive?: boolean; minimum?: unknown; maximum?: unknown; length?: unknown } } }>;
  };
}

/** One problem zod found, as much of it as this reads. */
export interface IssueLike {
  code?: string;
  path: readonly PropertyKey[];
  message: string;
}

const WRAPPERS = new Set(['default', 'optional', 'nullable', 'prefault', 'readonly', 'catch', 'nonoptional']);

/** The schema under its wrappers (`.default()`, `.optional()`, a pipe's output). */
export function unwrap(schema: SchemaLike): SchemaLike {
  let inner = schema;
  for (;;) {
    if (WRAPPERS.has(inner.def.type) && inner.def.innerType !== undefined) inner = inner.def.innerType;
    else if (inner.def.type === 'pipe' && inner.def.out !== undefined) inner = inner.def.out;
    else return inner;
  }
}

/** The schema a path inside a value leads to (`['nsqdTcpAddresses', 0]`), or undefined past what is known. */
export function schemaAt(schema: SchemaLike, path: readonly PropertyKey[]): SchemaLike | undefined {
  let at: SchemaLike | undefined = schema;
  for (const step of path) {
    if (at === undefined) return undefined;
    const def: SchemaLike['def'] = unwrap(at).def;
    at = def.type === 'object' ? def.shape?.[String(step)] : def.type === 'array' ? def.element : def.type === 'record' ? def.valueType : undefined;
  }
  return at;
}

/** How a duration is written: a flag or variable needs the unit; the config file also takes a number of ms (its key ends in `Ms`). */
const DURATION_FORMS = { flag: '250ms, 60s, 1h30m', config: '250ms, 60s, 1h30m, or a number of milliseconds' } as const;

/** Where a duration is written, for {@link describeExpected}: on a command line or in the environment, or in the config file. */
export type DurationWrittenIn = keyof typeof DURATION_FORMS;

function bounds(def: SchemaLike['def'], show: (value: number) => string): string {
  let min: number | undefined;
  let max: number | undefined;
  let exclusiveMin = false;
  let exclusiveMax = false;
  for (const check of def.checks ?? []) {
    const { check: kind, value, inclusive } = check._zod.def;
    if (typeof value !== 'number') continue;
    if (kind === 'greater_than') [min, exclusiveMin] = [value, inclusive === false];
    if (kind === 'less_than') [max, exclusiveMax] = [value, inclusive === false];
  }
  if (min !== undefined && max !== undefined && !exclusiveMin && !exclusiveMax) return ` from ${show(min)} to ${show(max)}`;
  const low = min === undefined ? '' : exclusiveMin ? ` greater than ${show(min)}` : ` of at least ${show(min)}`;
  const high = max === undefined ? '' : exclusiveMax ? ` less than ${show(max)}` : ` of at most ${show(max)}`;
  return low + (low !== '' && high !== '' ? ' and' : '') + high;
}

/** A string's length checks (`.min(8)`, `.max(64)`, `.length(3)`), in words: ` of at least 8 characters`, or ''. */
function lengthBounds(def: SchemaLike['def']): string {
  let min: number | undefined;
  let max: number | undefined;
  for (const check of def.checks ?? []) {
    const { check: kind, minimum, maximum, length } = check._zod.def;
    if (kind === 'min_length' && typeof minimum === 'number') min = minimum;
    if (kind === 'max_length' && typeof maximum === 'number') max = maximum;
    if (kind === 'length_equals' && typeof length === 'number') [min, max] = [length, length];
  }
  const characters = (n: number): string => `${n} character${n === 1 ? '' : 's'}`;
  if (min !== undefined && min === max) return ` of exactly ${characters(min)}`;
  if (min !== undefined && max !== undefined) return ` of ${min} to ${characters(max)}`;
  if (min !== undefined) return min === 1 ? ' that is not empty' : ` of at least ${characters(min)}`;
  return max === undefined ? '' : ` of at most ${characters(max)}`;
}

/**
 * The values a schema accepts, in words, or undefined for a kind this does not describe (a custom
 * type, a union with one): the caller then keeps zod's message. With `duration`, a number schema is a duration
 * in milliseconds, described in the forms it takes where it is written.
 */
export function describeExpected(schema: SchemaLike, duration: DurationWrittenIn | false = false): string | undefined {
  const def = unwrap(schema).def;
  switch (def.type) {
    case 'number':
    case 'int': {
      if (duration !== false) return `a duration${bounds(def, (ms) => `${ms}ms`)} (${DURATION_FORMS[duration]})`;
      const whole = def.type === 'int' || (def.checks ?? []).some((check) => check._zod.def.check === 'number_format' && /int/.test(check._zod.def.format ?? ''));
      return `${whole ? 'a whole number' : 'a number'}${bounds(def, String)}`;
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${Object.values(def.entries ?? {}).map((value) => JSON.stringify(value)).join(', ')}`;
    case 'literal':
      return `${(def.values ?? []).length > 1 ? 'one of ' : ''}${(def.values ?? []).map((value) => JSON.stringify(value)).join(', ')}`;
    case 'string':
      return `a string${lengthBounds(def)}`;
    case 'array': {
      const element = def.element === undefined ? undefined : unwrap(def.element).def.type;
      return element === 'string' || element === 'number' || element === 'boolean' ? `an array of ${element}s` : 'an array';
    }
    case 'object':
    case 'record':
      return 'an object';
    case 'union': {
      // `a number or "auto"`: zod says only "Invalid input" of a value no option takes. A union with
      // objects or arrays keeps zod's words: "an object" would say nothing of the field at fault.
      if ((def.options ?? []).some((option) => ['object', 'record', 'array', 'tuple'].includes(unwrap(option).def.type))) return undefined;
      const each = (def.options ?? []).map((option) => describeExpected(option, duration));
      return each.length > 0 && each.every((words) => words !== undefined) ? [...new Set(each)].join(' or ') : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * What would be good instead of a bare number for a duration (`90`): the same with its unit, since it
 * could mean seconds or milliseconds; the config file may also give the number itself, as milliseconds.
 */
export function durationWithUnit(bare: string, writtenIn: DurationWrittenIn): string {
  return writtenIn === 'flag' ? `a duration with its unit, such as ${bare}s or ${bare}ms` : `a duration with its unit, such as '${bare}s' or '${bare}ms', or the number ${bare} for milliseconds`;
}

/** The codes of problems with a value's type or range: the description of what fits says it better. */
const DESCRIBED = new Set(['invalid_type', 'too_small', 'too_big', 'invalid_value', 'not_multiple_of', 'invalid_union']);

/**
 * What would be good instead, for one problem: the schema's description for a wrong type or range;
 * the schema's own message otherwise (a refinement such as "expected host:port (e.g. 127.0.0.1:4150)"
 * already says it, and a worker's own message is the worker author's to word).
 */
export function whatWouldBeGood(issue: IssueLike, expected: string | undefined): string {
  if (expected !== undefined && DESCRIBED.has(issue.code ?? '')) return `expected ${expected}`;
  return issue.message;
}

/**
 * A value as a message quotes it: strings and structures as JSON, cut short past `max` characters (an
 * error stays one line). `clean` rewrites the whole text first (a URL's password hidden before the cut
 * could leave it without the `@` that marks it).
 */
export function showValue(value: unknown, max = 60, clean: (text: string) => string = (text) => text): string {
  const text = clean(typeof value === 'string' || typeof value === 'object' ? (JSON.stringify(value) ?? String(value)) : String(value));
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** A key path as it is written in the file: `nsqdTcpAddresses[0]`, `workers['log/pageview'].slowThresholdMs`. */
export function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((step, index) => {
      if (typeof step === 'number') return `[${step}]`;
      // A `workers` key is a '<topic>/<channel>' string however it is spelt, so it is quoted as the file quotes it.
      const quoted = !/^[A-Za-z_$][\w$]*$/.test(String(step)) || (index === 1 && path[0] === 'workers');
      return quoted ? `['${String(step)}']` : `${index === 0 ? '' : '.'}${String(step)}`;
    })
    .join('');
}
