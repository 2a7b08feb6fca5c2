/**
 * Fields a runner's logger adds to a line without writing a key twice (see {@link childWithFields}).
 */
import pino, { type Logger } from 'pino';

const FIELDS = Symbol('nsqworker.logFields');
type WithFields = Logger & { [FIELDS]?: Readonly<Record<string, unknown>>; [pino.symbols.mixinSym]?: unknown };

/**
 * A child of `logger` whose lines carry `fields` after the parent's own; where a line's object gives
 * the same key, it is written once, with the line's value. pino writes a child's bindings apart from
 * the line's object, so `log.child({ attempts: 1 }).info({ attempts: 9 })` wrote `"attempts"` twice,
 * which JSON readers take differently (Elasticsearch refuses the document). These go through pino's
 * `mixin`, merged with the line's object: for the fields a task's own lines may repeat (topic,
 * channel, task, messageId, attempts). A child's `child()` keeps them.
 *
 * `logger` is one made by runner/ops/log.ts's createLogger (its `mixin` is {@link logFieldsMixin})
 * or a descendant; any other pino logger gets the fields as plain bindings.
 */
export function childWithFields(logger: Logger, fields: Readonly<Record<string, unknown>>): Logger {
  if ((logger as WithFields)[pino.symbols.mixinSym] !== logFieldsMixin) return logger.child(fields);
  const child = logger.child({}) as WithFields;
  child[FIELDS] = { ...(logger as WithFields)[FIELDS], ...fields };
  return child;
}

/** pino's `mixin`: a new object each line (pino merges the line's object into it). */
export function logFieldsMixin(_line: object, _level: number, logger: Logger): object {
  const fields = (logger as WithFields)[FIELDS];
  return fields === undefined ? {} : { ...fields };
}
