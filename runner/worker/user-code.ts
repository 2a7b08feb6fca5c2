/**
 * Loads the user's own code — worker files, what they import, `nsqworker.config.ts` — whatever the
 * project's module system (`"type": "module"`, `"commonjs"` or none) and file extension (`.ts`,
 * `.mts`, `.cts`, `.js`, `.mjs`, `.cjs`).
 *
 * The package itself is compiled JavaScript and never goes through tsx: tsx is registered lazily, the
 * first time user code is loaded, after every module of ours is already in memory. From then on
 * tsx compiles the user's TypeScript, and an `import`/`require` of `nsqworker` from user code gets
 * the copy this process already runs — one package in memory, one `Worker` class, one `zod`
 * instance per schema — instead of a second copy compiled for the user's graph.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ModuleExports } from './module-exports.ts';
import { isProjectFile } from './own-files.ts';
import { FRESH_LOAD_QUERY, registerFreshImports } from './fresh-imports.ts';
import { PACKAGE_ROOT } from '../../package-paths.ts';
import { checkRequiredNsqworkerImports } from './nsqworker-imports.ts';
import { PlacedLoadError } from './placed-load-error.ts';

/** The query of a worker file imported again alone (`fresh`): not one fresh-imports.ts passes on. */
const RETRY_QUERY = 'nsqworker-retry';

const requireHere = createRequire(import.meta.url);

/**
 * Project files imported as ES modules since tsx was registered, and CommonJS ones whose load threw
 * (the others are read from require.cache).
 */
const importedFiles = new Set<string>();
let freshLoads = 0;
let projectFileListener: ((path: string) => void) | undefined;

/**
 * Calls `listener` with each project file user code loads from now on, the first time it loads:
 * a reload child tells its runner of files that tasks import later (an `import()` in a task), to
 * watch them too. One listener per process; undefined removes it.
 */
export function onProjectFileLoaded(listener: ((path: string) => void) | undefined): void {
  projectFileListener = listener;
}

export { isProjectFile } from './own-files.ts';

/** Which of tsx's loaders user code needs: its require hooks only, or its ES module hooks too. */
export type ModuleSystem = 'commonjs' | 'module';

let requireHooks: Promise<void> | undefined;
let moduleHooksRegistered = false;
let tsxModuleApi: typeof import('tsx/esm/api') | undefined;

/**
 * Registers tsx for the user's code, once per process; a process that is about to load user code
 * may call it early to warm up. tsx's require hooks run in this thread and cost little: they are
 * all CommonJS code needs, since a CommonJS file is required, never imported (importUserModule).
 * Its ES module hooks run in a thread of their own, which this one waits for while it starts
 * (Node 20's module.register: 100-200 ms of a worker's start-up, measured), so they are registered
 * for `module` only, or just before a CommonJS file that calls import() runs.
 */
export async function registerTsx(system: ModuleSystem = 'module'): Promise<void> {
  requireHooks ??= (async () => {
    // The package first, natively: once tsx's hooks are registered every import goes through their
    // thread, and user code imports the whole package (`nsqworker`) at once.
    await import('../../index.ts');
    const [requireApi, moduleApi] = await Promise.all([import('tsx/cjs/api'), import('tsx/esm/api')]);
    requireApi.register();
    // Only loaded (~10 ms): a require hook may have to register it synchronously.
    tsxModuleApi = moduleApi;
    registerModuleHooksBeforeImportCalls();
  })();
  await requireHooks;
  if (system === 'module') registerModuleHooks();
}

/** tsx's ES module hooks, registered now: module.register returns once their thread runs. */
function registerModuleHooks(): void {
  if (moduleHooksRegistered) return;
  moduleHooksRegistered = true;
  tsxModuleApi!.register({
    onImport: (url: string) => {
      if (!url.startsWith('file:')) return;
      const path = fileURLToPath(url.split('?')[0]!);
      if (!isProjectFile(path) || importedFiles.has(path)) return;
      importedFiles.add(path);
      projectFileListener?.(path);
    },
  });
  registerFreshImports();
}

type LoadExtension = (module: NodeJS.Module, filename: string) => void;

/**
 * A CommonJS file's import() goes to the ES module loader, where TypeScript needs tsx's ES module
 * hooks: each require hook (tsx's, for every extension) registers them first when the project file
 * it is about to run has an import() call (or the words of one in a comment: then for nothing).
 */
function registerModuleHooksBeforeImportCalls(): void {
  const extensions = (requireHere('node:module') as { _extensions: Record<string, LoadExtension> })._extensions;
  for (const [extension, load] of Object.entries(extensions)) {
    if (extension === '.json' || extension === '.node') continue;
    extensions[extension] = function loadProjectFile(this: unknown, module, filename) {
      if (!isProjectFile(filename)) return load.call(this, module, filename);
      if (!moduleHooksRegistered && callsImport(filename)) registerModuleHooks();
      projectFileListener?.(filename);
      try {
        load.call(this, module, filename);
      } catch (error) {
        // Left out of require.cache, a file that does not compile is still one the code imports:
        // a failed load names it, and --watch watches it for the fix.
        importedFiles.add(filename);
        throw error;
      }
    };
  }
}

const IMPORT_CALL = /\bimport\s*\(/;

function callsImport(file: string): boolean {
  try {
    return IMPORT_CALL.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Where a process about to load user code writes its throwaway module for
 * {@link warmUpUserCodeLoader}: the project's `node_modules/.cache/nsqworker/` (where build tools
 * keep theirs). Undefined where the project has no node_modules folder or it cannot be written:
 * then there is no head start, nothing else.
 */
export function warmUpFolder(projectDir: string = process.cwd()): string | undefined {
  const modules = join(projectDir, 'node_modules');
  if (!existsSync(modules)) return undefined;
  const folder = join(modules, '.cache', 'nsqworker');
  try {
    mkdirSync(folder, { recursive: true });
    return folder;
  } catch {
    return undefined;
  }
}

/** The throwaway module of process `pid` in `folder`: its parent removes it if the process died first. */
export function warmUpModuleOf(folder: string, pid: number, system: ModuleSystem): string {
  return join(folder, `warm-up-${pid}.${system === 'commonjs' ? 'cts' : 'mts'}`);
}

/**
 * Registers tsx and loads a throwaway TypeScript module through it, so that a process about to
 * load user code has paid ahead for what tsx does on its first load (its hooks thread compiling its
 * own code paths, esbuild's service starting: 15-20 ms of a warm child's 40, measured): for a
 * reload, that load is on the path from the save to the swap. The module does not compile: tsx's
 * cache would answer a module it compiled before and leave esbuild unstarted, and one that compiles
 * would add an entry to that cache (in the OS's temp folder) at every child's start: 33,000 files,
 * 145 MB, after some days of development here, which every child then lists. `system` is the worker's module
 * system (isCommonJsFile): a CommonJS project warms up tsx's require hooks only. It is in node_modules: not a
 * project file, not reported as imported. A folder that cannot be written costs only the head start.
 */
export async function warmUpUserCodeLoader(folder: string | undefined, system: ModuleSystem = 'module'): Promise<void> {
  await registerTsx(system);
  if (folder === undefined) return;
  const file = warmUpModuleOf(folder, process.pid, system);
  try {
    writeFileSync(file, 'export const warm: string = ;\n');
    if (system === 'commonjs') requireHere(file);
    else await import(pathToFileURL(file).href);
  } catch {
    // Only a head start.
  } finally {
    rmSync(file, { force: true });
    delete requireHere.cache[file];
  }
}

/**
 * Makes `require('nsqworker')` from user code at `fromFile` return this process's copy of the
 * package. An ES module import already does (same URL, same module record); a CommonJS require
 * would otherwise have tsx compile the package's ES modules a second time.
 */
async function shareThisPackage(fromFile: string): Promise<void> {
  let resolved: string;
  try {
    resolved = realpathSync(createRequire(fromFile).resolve('nsqworker'));
  } catch {
    return; // The project does not have nsqworker as a dependency; nothing to share.
  }
  if (!resolved.startsWith(PACKAGE_ROOT + sep) || requireHere.cache[resolved] !== undefined) return;
  const self = (await import('../../index.ts')) as ModuleExports;
  const Module = requireHere('node:module') as new (id: string) => NodeJS.Module;
  const entry = new Module(resolved);
  entry.filename = resolved;
  entry.loaded = true;
  entry.exports = self;
  requireHere.cache[resolved] = entry;
}

/**
 * Whether Node treats a file as CommonJS: `.cts`/`.cjs` always, `.mts`/`.mjs` never, and `.ts`/`.js`
 * unless the nearest package.json says `"type": "module"` (no "type" means CommonJS).
 */
export function isCommonJsFile(path: string): boolean {
  if (/\.c[jt]s$/.test(path)) return true;
  if (/\.m[jt]s$/.test(path)) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: string }).type !== 'module';
    if (dirname(dir) === dir) return true;
  }
}

/** Which of tsx's loaders a file needs ({@link isCommonJsFile}). */
export function moduleSystemOf(path: string): ModuleSystem {
  return isCommonJsFile(path) ? 'commonjs' : 'module';
}

/** Forgets the project's CommonJS modules, so that the next require reads them from disk again. */
function forgetProjectCommonJs(): void {
  for (const path of Object.keys(requireHere.cache)) {
    if (isProjectFile(path)) delete requireHere.cache[path];
  }
}

export interface LoadedModule {
  exports: ModuleExports;
  /** The project files this load imported (the module itself first), for watching. */
  files: string[];
}

/**
 * Begins a load of the user's code afresh, in a process that loaded it before (a reload beside the
 * running code): the project's CommonJS modules are forgotten, and the number returned, passed to
 * {@link importUserModule} as `load` for each file of this load, takes every project file they
 * import afresh (fresh-imports.ts). The package and node_modules are never loaded again.
 */
export function beginFreshLoad(): number {
  forgetProjectCommonJs();
  return ++freshLoads;
}

/**
 * Imports a file of the user's project. With `load` (from {@link beginFreshLoad}), the file and
 * every project file it imports are read from disk again, as that load; with `fresh`, the file
 * alone (`dev` retries a worker that failed to load: the modules it imports as ES modules stay
 * cached, as in any process that loads its code once).
 *
 * Errors: whatever the module throws while loading (a syntax error, a missing import), unchanged;
 * PlacedLoadError for a CommonJS file that imports from nsqworker a name it does not export, or for
 * an ES module whose top-level await nothing is left to settle.
 */
export async function importUserModule(path: string, options: { fresh?: boolean; load?: number } = {}): Promise<LoadedModule> {
  const commonJs = isCommonJsFile(path);
  await registerTsx(commonJs ? 'commonjs' : 'module');
  await shareThisPackage(path);
  let url = pathToFileURL(path).href;
  if (options.load !== undefined) url += `?${FRESH_LOAD_QUERY}=${options.load}`;
  else if (options.fresh === true) {
    forgetProjectCommonJs();
    url += `?${RETRY_QUERY}=${++freshLoads}`;
  }
  // A CommonJS file is required, not imported: Node 20 runs a CommonJS file that the ES module
  // loader reached with a require() of its own, which cannot load an ES module such as nsqworker.
  const required = createRequire(path);
  const moduleExports = commonJs ? { default: required(path) as unknown } : ((await settledOrStuck(import(url), path)) as ModuleExports);
  // A misspelt import of nsqworker used only inside a task, in the file or a helper it requires:
  // said now, as an ES module's link fails.
  if (commonJs) checkRequiredNsqworkerImports(required.cache[required.resolve(path)]);
  return { exports: moduleExports, files: projectFilesImported(path) };
}

/**
 * `loading`, or a PlacedLoadError once the process has nothing else to run while it is pending: a
 * top-level await on a promise nothing will settle (`await new Promise(() => {})`), on which Node
 * would exit with status 13 and not a word.
 */
function settledOrStuck<T>(loading: Promise<T>, path: string): Promise<T> {
  let onIdle!: () => void;
  const stuck = new Promise<never>((_resolve, reject) => {
    onIdle = () => reject(new PlacedLoadError(path, undefined, 'its top-level await never finishes: it waits on a promise that nothing left to run will settle'));
  });
  process.once('beforeExit', onIdle);
  return Promise.race([loading, stuck]).finally(() => process.off('beforeExit', onIdle));
}

/**
 * The project files user code has imported so far in this process, `first` first: what a watcher
 * watches. Also right after a failed load, which names the files it had reached.
 */
export function projectFilesImported(first: string): string[] {
  const files = new Set(importedFiles);
  for (const file of Object.keys(requireHere.cache)) if (isProjectFile(file)) files.add(file);
  files.delete(first);
  return [first, ...[...files].sort()];
}

