/**
 * CommonJS's own names (`require`, `module`, `exports`, `__dirname`, `__filename`) used in an ES
 * module: Node throws a ReferenceError wherever the code runs, at the file's load or inside a task
 * (`require('node:fs')` in a handler), and its message does not say why the file is an ES module.
 */

// Node says "in ES module scope" of a module's top level only; inside a function that runs later
// (a task) the words are V8's bare "require is not defined". In a CommonJS file these names are
// always defined, so either is an ES module's.
const COMMONJS_IN_MODULE = /^(?:require|module|exports|__dirname|__filename) is not defined(?: in ES module scope|$)/;

/** Whether `error` is Node's ReferenceError for a CommonJS name in an ES module. */
export function isCommonJsInModule(error: unknown): boolean {
  return error instanceof ReferenceError && COMMONJS_IN_MODULE.test(error.message.split('\n', 1)[0]!);
}

/** Why the file is an ES module, and the ways out: said beside {@link isCommonJsInModule}'s error. */
export const COMMONJS_IN_MODULE_FIX =
  'the file is an ES module: its package.json says "type": "module", or its name ends in .mts or .mjs; write import and export, import.meta.dirname for __dirname, or name it .cts';
