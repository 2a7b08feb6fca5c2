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
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ModuleExports } from './module-exports.ts';
import { isProjectFile } from './own-files.ts';

const requireHere = createRequire(import.meta.url);
const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** Project files imported as ES modules since tsx was registered (CommonJS ones are read from require.cache). */
const importedFiles = new Set<string>();
let registered: Promise<void> | undefined;
let freshLoads = 0;

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'nsqworker') return dir;
    if (dirname(dir) === dir) return from;
  }
}

export { isProjectFile } from './own-files.ts';

/** Registers tsx for the user's code, once per process; a process that is about to load user code may call it early to warm up. */
export function registerTsx(): Promise<void> {
  registered ??= (async () => {
    // The package first, natively: once tsx's hooks are registered every import goes through their
    // thread, and user code imports the whole package (`nsqworker`) at once.
    await import('../../index.ts');
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    cjs.register();
    esm.register({
      onImport: (url: string) => {
        if (!url.startsWith('file:')) return;
        const path = fileURLToPath(url.split('?')[0]!);
        if (isProjectFile(path)) importedFiles.add(path);
      },
    });
  })();
  return registered;
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
export function warmUpModuleOf(folder: string, pid: number): string {
  return join(folder, `warm-up-${pid}.mts`);
}

/**
 * Registers tsx and loads a throwaway TypeScript module through it, so that a process about to
 * load user code has paid ahead for what tsx does on its first load (its hooks thread compiling its
 * own code paths, esbuild's service starting: 15-20 ms of a warm child's 40, measured): for a
 * reload, that load is on the path from the save to the swap. The module's content is new each
 * time, or tsx's cache would answer and leave esbuild unstarted. It is in node_modules: not a
 * project file, not reported as imported. A folder that cannot be written costs only the head start.
 */
export async function warmUpUserCodeLoader(folder: string | undefined): Promise<void> {
  await registerTsx();
  if (folder === undefined) return;
  const file = warmUpModuleOf(folder, process.pid);
  try {
    writeFileSync(file, `export const warm: string = '${randomUUID()}';\n`);
    await import(pathToFileURL(file).href);
  } catch {
    // Only a head start.
  } finally {
    rmSync(file, { force: true });
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
 * Imports a file of the user's project. With `fresh`, the file is read from disk again even if this
 * process loaded it before (for `dev`, which retries a worker that failed to load; the modules it
 * imports as ES modules stay cached — a reload proper runs in a new process).
 *
 * Errors: whatever the module throws while loading (a syntax error, a missing import), unchanged.
 */
export async function importUserModule(path: string, options: { fresh?: boolean } = {}): Promise<LoadedModule> {
  await registerTsx();
  await shareThisPackage(path);
  let url = pathToFileURL(path).href;
  if (options.fresh === true) {
    forgetProjectCommonJs();
    url += `?nsqworker-load=${++freshLoads}`;
  }
  // A CommonJS file is required, not imported: Node 20 runs a CommonJS file that the ES module
  // loader reached with a require() of its own, which cannot load an ES module such as nsqworker.
  const moduleExports = isCommonJsFile(path) ? { default: createRequire(path)(path) as unknown } : ((await import(url)) as ModuleExports);
  return { exports: moduleExports, files: projectFilesImported(path) };
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

