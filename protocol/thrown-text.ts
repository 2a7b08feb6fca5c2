/**
 * What was thrown or rejected, in words, when it need not be an Error: `throw 'out of paper'`,
 * `Promise.reject({ code: 1 })`. Shared by the client (a handler's failure) and the runner (a
 * task's, an uncaught one's, a worker's at load).
 */
import { inspect } from 'node:util';

/**
 * An Error's message; a string, number, boolean, bigint, symbol, null or undefined as String()
 * says it; anything else as util.inspect shows it on one line, bounded (`{ code: 1, reason: 'db
 * down' }`), where String() says `[object Object]`, and throws for an object with no prototype or
 * a throwing toString. Never throws.
 */
export function thrownText(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (thrown === null || (typeof thrown !== 'object' && typeof thrown !== 'function')) return String(thrown);
  try {
    return inspect(thrown, { depth: 2, breakLength: Infinity, maxArrayLength: 10, maxStringLength: 200 });
  } catch {
    return Object.prototype.toString.call(thrown);
  }
}
