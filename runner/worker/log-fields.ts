/**
 * Fields a runner's logger adds to a line without writing a key twice (see {@link childWithFields}).
 */
import pino, { type Bindings, type ChildLoggerOptions, type Logger } from 'pino';

type Fields = Readonly<Record<string, unknown>>;
const FIELDS = Symbol('nsqworker.logFields');
type FieldLogger = Logger & { [FIELDS]?: Fields; [pino.symbols.mixinSym]?: unknown };

/**
 * A child of `logger` whose lines carry `fields` after the parent's own; where a line's object gives
 * the same key, it is written once, with the line's value (`undefined` there keeps the field's).
 * pino writes a child's bindings apart from the line's object, so `log.child({ attempts: 1 })
 * .info({ attempts: 9 })` wrote `"attempts"` twice, which JSON readers take differently
 * (Elasticsearch refuses the document). These go through pino's `mixin`, merged with the line's
 * object: for the fields a task's own lines may repeat (topic, channel, task, messageId, attempts).
 * The child's own `child()` and `setBindings()` keep them, and a binding of one of them replaces
 * its value; `bindings()` lists them.
 *
 * `logger` is one made by runner/ops/log.ts's createLogger (its `mixin` is {@link logFieldsMixin},
 * its `mixinMergeStrategy` {@link mergeLineIntoFields}) or a descendant; any other pino logger gets
 * the fields as plain bindings.
 */
export function childWithFields(logger: Logger, fields: Fields): Logger {
  const parent = logger as FieldLogger;
  if (parent[pino.symbols.mixinSym] !== logFieldsMixin) return logger.child(fields);
  const child = logger.child({}) as FieldLogger;
  child[FIELDS] = { ...parent[FIELDS], ...fields };
  // Once, on the first logger with fields: its descendants inherit these (pino's children are made
  // with Object.create of their parent).
  if (parent[FIELDS] === undefined) Object.assign(child, fieldAwareMethods(logger));
  return child;
}

/** pino's `mixin`: a new object each line (pino merges the line's object into it). */
export function logFieldsMixin(_line: object, _level: number, logger: Logger): object {
  const fields = (logger as FieldLogger)[FIELDS];
  return fields === undefined ? {} : { ...fields };
}

/** pino's `mixinMergeStrategy`: the line's keys over the fields', but a key the line leaves `undefined`. */
export function mergeLineIntoFields(line: object, mixed: object): object {
  const fields = mixed as Record<string, unknown>;
  for (const key of Object.keys(line)) {
    const value = (line as Record<string, unknown>)[key];
    if (value !== undefined || !(key in fields)) fields[key] = value;
  }
  return fields;
}

/** Splits bindings into those naming one of `fields` and the rest. */
function splitBindings(bindings: Bindings, fields: Fields): { named: Record<string, unknown> | undefined; rest: Bindings } {
  let named: Record<string, unknown> | undefined;
  const rest: Bindings = {};
  for (const [key, value] of Object.entries(bindings)) {
    // An undefined binding of a field leaves it as it is, as a line's does.
    if (key in fields) {
      if (value !== undefined) (named ??= {})[key] = value;
    } else rest[key] = value;
  }
  return { named, rest };
}

type PinoMethod = (this: Logger, ...args: never[]) => unknown;

/** child, bindings and setBindings as pino's (`base`'s), with the fields taken into account. */
function fieldAwareMethods(base: Logger): Record<'child' | 'bindings' | 'setBindings', PinoMethod> {
  // pino's generics (custom levels) do not survive a call through `this`: typed for what is called here.
  const child = base.child as unknown as (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;
  const { bindings, setBindings } = base;
  return {
    child(this: FieldLogger, given: Bindings, options?: ChildLoggerOptions): Logger {
      if (given === null || typeof given !== 'object') return child.call(this, given, options); // pino's own error
      const fields = this[FIELDS] ?? {};
      const { named, rest } = splitBindings(given, fields);
      const made = child.call(this, rest, options) as FieldLogger;
      if (named !== undefined) made[FIELDS] = { ...fields, ...named };
      return made;
    },
    bindings(this: FieldLogger): Bindings {
      return { ...bindings.call(this), ...this[FIELDS] };
    },
    setBindings(this: FieldLogger, given: Bindings): void {
      const fields = this[FIELDS] ?? {};
      const { named, rest } = splitBindings(given, fields);
      if (named !== undefined) this[FIELDS] = { ...fields, ...named };
      setBindings.call(this, rest);
    },
  };
}
