/**
 * Where a failed reload went wrong, as a file, a line and a reason a person can act on, for the
 * three ways an edit fails to load: the code does not compile (esbuild's "file:line:col: ERROR: …",
 * or Node's own "file:line" header of a SyntaxError), a module throws while it is imported (the
 * first stack frame in the project's own files), or the options schema no longer accepts the values
 * the worker runs with (the line of the schema that declares the rejected option).
 *
 * Runs where the error was thrown (the reload child, or the process loading a worker), where it
 * still has its cause and the files are at hand.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { didYouMean } from '../../protocol/suggest.ts';
import { isOwnCode } from './own-files.ts';
import { WORKER_EXTENSIONS } from './discover.ts';
import { noSuchExport, nsqworkerExports, nsqworkerImports } from './nsqworker-imports.ts';
import { PlacedLoadError } from './placed-load-error.ts';
import { COMMONJS_IN_MODULE_FIX, isCommonJsInModule } from './commonjs-in-module.ts';
import { thrownText } from '../../protocol/thrown-text.ts';

/** Where a load failed, as far as it can be told: the file and line to fix, and why. */
export interface LoadFailureLocation {
  file: string;
  line: number | undefined;
  column: number | undefined;
  reason: string;
  /** For an option value the schema rejects: where the schema declares that option. */
  declaredIn?: { file: string; line: number | undefined };
}

/**
 * Errors thrown as a module ran that {@link locateLoadFailure} found to be the code's fault all the
 * same (a misspelt import used by its right name): {@link failsInAnyProcess} counts them so.
 */
const FOUND_AT_FAULT = new WeakSet<Error>();

/** `file:line:column`, as far as known. */
export function formatLocation(location: LoadFailureLocation): string {
  return `${location.file}${location.line === undefined ? '' : `:${location.line}`}${location.column === undefined ? '' : `:${location.column}`}`;
}

const ESBUILD_ERROR = /^(.+?):(\d+):(\d+): ERROR: (.+)$/m;
// A path may hold spaces (`/Users/Ann Lee/app`): CommonJS frames and headers give it as it is.
const SYNTAX_ERROR_HEADER = /^(file:\/\/\S+|\/[^\n]+?):(\d+)\n/;
const STACK_FRAME = /^\s*at (?:.*? \()?(file:\/\/[^\s()]+?|\/[^()\n]+?):(\d+):(\d+)\)?$/gm;

/**
 * A file of the user's project: not a dependency, not nsqworker's own sources, except the workers
 * folder (`workers/<topic>/<file>`) and the config file, which may live in this repository too.
 */
function isProjectFile(file: string, context: LoadContext): boolean {
  if (file.includes(`${sep}node_modules${sep}`)) return false;
  if (file === context.configPath || file.startsWith(dirname(dirname(context.workerFile)) + sep)) return true;
  return !isOwnCode(file);
}

function toPath(fileOrUrl: string): string {
  return fileOrUrl.startsWith('file://') ? fileURLToPath(fileOrUrl.split('?')[0]!) : fileOrUrl;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

/** The 1-based line of the first declaration of `key` in `file` (`key:` in an object, `key =` in a class), if any. */
function declarationLine(file: string, key: string): number | undefined {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const declaration = new RegExp(`(?:^|[\\s{,])['"]?${escaped}['"]?\\s*[:=]`);
  const index = source.split('\n').findIndex((line) => declaration.test(line));
  return index < 0 ? undefined : index + 1;
}

/** The keys of the options a zod error (the error's cause) rejected. */
function rejectedKeys(error: Error): string[] {
  const issues = (error.cause as { issues?: Array<{ path?: PropertyKey[] }> } | undefined)?.issues;
  if (!Array.isArray(issues)) return [];
  return [...new Set(issues.map((issue) => issue.path?.[0]).filter((key): key is string => typeof key === 'string'))];
}

export interface LoadContext {
  workerFile: string;
  configPath: string | undefined;
}

export function locateLoadFailure(thrown: unknown, context: LoadContext): LoadFailureLocation {
  const error = thrown instanceof Error ? thrown : new Error(thrownText(thrown));
  const message = error.message;
  if (error instanceof PlacedLoadError) return { file: error.file, line: error.line, column: undefined, reason: error.reason };

  const compiled = ESBUILD_ERROR.exec(message);
  if (compiled !== null) {
    // esbuild counts columns from 0; a file:line:column (an editor's link, a stack frame) from 1.
    const file = compiledFile(toPath(compiled[1]!));
    return { file, line: Number(compiled[2]), column: Number(compiled[3]) + 1, reason: `syntax error: ${compiled[4]!}${awaitInCommonJsHint(compiled[4]!, file)}` };
  }

  const stack = error.stack ?? '';
  const header = SYNTAX_ERROR_HEADER.exec(stack);
  if (header !== null) {
    const unlinked = UNLINKED_EXPORT.exec(firstLine(message));
    const meant = unlinked === null ? '' : didYouMean(unlinked[1]!, nsqworkerExports(context.workerFile));
    return { file: toPath(header[1]!), line: Number(header[2]), column: undefined, reason: `${error.name}: ${firstLine(message)}${meant}` };
  }

  const code = (error as { code?: unknown }).code;
  const keys = rejectedKeys(error);
  if (code === 'E_USAGE' && keys.length > 0) {
    // The schema changed under values that were fine before: point at the option's declaration.
    for (const key of keys) {
      const line = declarationLine(context.workerFile, key);
      if (line !== undefined) return { file: context.workerFile, line, column: undefined, reason: message };
    }
    return { file: context.workerFile, line: undefined, column: undefined, reason: message };
  }
  if (code === 'E_CONFIG_INVALID' && context.configPath !== undefined) {
    // An unknown option ("unknown option a, b (its options are …)") or the last key of a path the config schema refused.
    const named = /unknown option (.+?) \(/.exec(message)?.[1]?.split(', ') ?? [];
    const issues = (error.cause as { issues?: Array<{ path?: PropertyKey[] }> } | undefined)?.issues ?? [];
    const keys = [...named, ...issues.map((issue) => issue.path?.at(-1)).filter((key): key is string => typeof key === 'string')];
    const line = keys.map((key) => declarationLine(context.configPath!, key)).find((found) => found !== undefined);
    // The config's value may be old and the worker's schema new: the reload decides by what was saved.
    const schemaLine = rejectedKeys(error).map((key) => declarationLine(context.workerFile, key)).find((found) => found !== undefined);
    const declaredIn = schemaLine === undefined ? undefined : { file: context.workerFile, line: schemaLine };
    // Said after the file's place: the message's own "nsqworker.config.ts: " would name it twice.
    const colon = message.indexOf(': ');
    const reason = colon > 0 && resolve(message.slice(0, colon)) === resolve(context.configPath) ? message.slice(colon + 2) : message;
    return { file: context.configPath, line, column: undefined, reason, declaredIn };
  }

  if (code === 'E_WORKER_INVALID') {
    // Said after the file's place: the message's own "<worker file>: " would name it twice.
    const prefix = `${context.workerFile}: `;
    return { file: context.workerFile, line: undefined, column: undefined, reason: message.startsWith(prefix) ? message.slice(prefix.length) : message };
  }
  const reason = missingExportReason(error, context.workerFile) ?? `${error.name}: ${firstLine(message)}${misspeltPackage(message)}${commonJsInModuleHint(error)}`;
  for (const frame of stack.matchAll(STACK_FRAME)) {
    const file = toPath(frame[1]!);
    if (!isProjectFile(file, context)) continue;
    const line = Number(frame[2]);
    const column = Number(frame[3]);
    const baseClass = missingBaseClassReason(error, file, line, context.workerFile);
    if (baseClass !== undefined) return { file, line, column, reason: baseClass };
    const unimported = unimportedReason(error, file, context.workerFile);
    if (unimported === undefined) return { file, line, column, reason };
    FOUND_AT_FAULT.add(error);
    return { file, line, column, reason: unimported };
  }
  return { file: context.workerFile, line: undefined, column: undefined, reason };
}

/**
 * A named import the module does not export, in a file compiled to CommonJS: esbuild calls it as
 * `(0 , import_nsqworker.defineWorkr)(...)`, which throws "is not a function" (an ES module's import
 * fails to link instead, a SyntaxError that names the export).
 */
const MISSING_EXPORT_CALL = /^(?:\(0 , )?import_([\w$]+)\.([\w$]+)\)? is not a (?:function|constructor)$/;

/** The same mistake in an ES module: it fails to link. */
const UNLINKED_EXPORT = /^The requested module 'nsqworker' does not provide an export named '([\w$]+)'/;

/** A project file's text, or undefined when it cannot be read (gone since the failure). */
function readSource(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** What a missing named import of nsqworker is, in words, with the nearest export ({@link MISSING_EXPORT_CALL}). */
function missingExportReason(error: Error, workerFile: string): string | undefined {
  const match = error instanceof TypeError ? MISSING_EXPORT_CALL.exec(firstLine(error.message)) : null;
  if (match === null || match[1] !== 'nsqworker') return undefined;
  return noSuchExport(match[2]!, nsqworkerExports(workerFile));
}

/**
 * A ReferenceError for an nsqworker export that `file` uses but imports misspelt (`import {
 * defineWorkr }`, then `defineWorker(...)`): in CommonJS the misspelt import fails only where used,
 * by the name written there. Said as the import's fault ({@link missingExportReason}).
 */
function unimportedReason(error: Error, file: string, workerFile: string): string | undefined {
  const used = error instanceof ReferenceError ? /^([\w$]+) is not defined$/.exec(firstLine(error.message))?.[1] : undefined;
  if (used === undefined) return undefined;
  const exports = nsqworkerExports(workerFile);
  const source = exports.includes(used) ? readSource(file) : undefined;
  if (source === undefined) return undefined;
  const misspelt = nsqworkerImports(source)
    .map((entry) => entry.exported)
    .find((exported) => !exports.includes(exported) && didYouMean(exported, [used]) !== '');
  return misspelt === undefined ? undefined : `${used} is not defined: ${noSuchExport(misspelt, exports)}`;
}

/** A class that extends a name whose import gave undefined: in CommonJS, a misspelt `import { Workr } from 'nsqworker'`. */
const EXTENDS_UNDEFINED = /^Class extends value undefined is not a constructor or null$/;

/**
 * {@link EXTENDS_UNDEFINED} at `file:line`, when the class extends a name the file imports from
 * nsqworker and nsqworker has no such export: said as for a call ({@link missingExportReason}).
 */
function missingBaseClassReason(error: Error, file: string, line: number, workerFile: string): string | undefined {
  const source = error instanceof TypeError && EXTENDS_UNDEFINED.test(firstLine(error.message)) ? readSource(file) : undefined;
  if (source === undefined) return undefined;
  const base = /\bextends\s+([\w$]+)/.exec(source.split('\n')[line - 1] ?? '')?.[1];
  // `import { Workr }` or `import { Workr as Base }`: the name exported, by the name used.
  const exported = nsqworkerImports(source).find((entry) => entry.local === base)?.exported;
  const exports = nsqworkerExports(workerFile);
  return exported === undefined || exports.includes(exported) ? undefined : noSuchExport(exported, exports);
}

/**
 * The way out of a top-level await in a CommonJS file, which tsx compiles to CommonJS (esbuild: "Top-level
 * await is currently not supported with the "cjs" output format"); '' for any other error.
 */
function awaitInCommonJsHint(reason: string, file: string): string {
  if (!/^Top-level await is currently not supported with the "cjs" output format/.test(reason)) return '';
  return file.endsWith('.cts')
    ? ' (a .cts file is CommonJS whatever package.json says: name it .mts, or move the await into a function)'
    : ' (the file is CommonJS: its package.json has no "type": "module"; add that, name the file .mts, or move the await into a function)';
}

/** The file esbuild's error names: tsx compiles a `.cts` or `.mts` file under the name `.ts`, which does not exist. */
function compiledFile(path: string): string {
  if (!path.endsWith('.ts') || existsSync(path)) return path;
  const stem = path.slice(0, -'.ts'.length);
  return ['.cts', '.mts'].map((extension) => stem + extension).find((candidate) => existsSync(candidate)) ?? path;
}

/** The way out of a CommonJS name in an ES module (commonjs-in-module.ts); '' for any other error. */
function commonJsInModuleHint(error: Error): string {
  return isCommonJsInModule(error) ? ` (${COMMONJS_IN_MODULE_FIX})` : '';
}

/** A package an import names that is not installed: CommonJS's "Cannot find module", an ES module's "Cannot find package". */
const MISSING_PACKAGE = /^Cannot find (?:module|package) '([^'./][^']*)'/;

/** The packages a worker imports by name, for a misspelt one (`from 'nsqworkr'`). */
const WORKER_PACKAGES = ['nsqworker', 'zod'];

/** "; did you mean nsqworker?" for a missing package a typo away from one a worker imports, else ''. */
function misspeltPackage(message: string): string {
  const name = MISSING_PACKAGE.exec(firstLine(message))?.[1];
  return name === undefined || WORKER_PACKAGES.includes(name) ? '' : didYouMean(name, WORKER_PACKAGES);
}

/** The codes of the errors that say the code itself is at fault (see {@link failsInAnyProcess}). */
const CODE_AT_FAULT = new Set(['E_USAGE', 'E_CONFIG_INVALID', 'E_WORKER_INVALID', 'ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND']);

/**
 * Whether a load failed for the code itself, whatever process loads it: it does not compile, imports
 * a file that is not there, exports no worker, or its schema or config refuses the values. An error
 * thrown as a module ran may instead come of the process (a name registered in it already).
 */
export function failsInAnyProcess(thrown: unknown): boolean {
  if (!(thrown instanceof Error)) return false;
  if (ESBUILD_ERROR.test(thrown.message) || thrown.name === 'SyntaxError' || FOUND_AT_FAULT.has(thrown) || thrown instanceof PlacedLoadError || isCommonJsInModule(thrown)) return true;
  if (thrown instanceof TypeError && (MISSING_EXPORT_CALL.test(firstLine(thrown.message)) || EXTENDS_UNDEFINED.test(firstLine(thrown.message)))) return true;
  const code = (thrown as { code?: unknown }).code;
  return typeof code === 'string' && CODE_AT_FAULT.has(code);
}

const MISSING_MODULE = /Cannot find module '([^']+)'/;
/** A `.js` specifier in TypeScript names the `.ts` file beside it (and so on). */
const SOURCE_OF: Record<string, string> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };

/**
 * The files a load that failed for a missing module (an import written before its file) would have
 * loaded: the path it names with each source extension, or as a folder's index. --watch watches
 * them, so that creating the file loads the code again. `importer`: the file whose import failed.
 * A package's name (no path) gives none: an install brings it, not a save.
 */
export function missingModuleFiles(thrown: unknown, importer: string | undefined): string[] {
  const specifier = MISSING_MODULE.exec(thrownText(thrown))?.[1];
  if (specifier === undefined) return [];
  let base: string;
  if (specifier.startsWith('file://')) base = fileURLToPath(specifier);
  else if (isAbsolute(specifier)) base = specifier;
  else if (specifier.startsWith('.') && importer !== undefined) base = resolve(dirname(importer), specifier);
  else return [];
  const extension = extname(base);
  if ((WORKER_EXTENSIONS as readonly string[]).includes(extension)) return SOURCE_OF[extension] === undefined ? [base] : [base, base.slice(0, -extension.length) + SOURCE_OF[extension]];
  return [...WORKER_EXTENSIONS.map((ext) => base + ext), ...WORKER_EXTENSIONS.map((ext) => `${base}${sep}index${ext}`)];
}
