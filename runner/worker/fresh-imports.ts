/**
 * A fresh import of a project file takes every project file it imports afresh too. Node keeps each
 * ES module it loaded for the life of the process, under its URL; a file imported again under a URL
 * with a query (`worker.ts?nsqworker-load=7`) is a new module, but what it imports resolves to the
 * URLs already cached, so a changed helper would stay as it was. This resolve hook, registered after
 * tsx's (so it sees the URL tsx resolved), gives each project file a module with a fresh-load query the
 * query of the module importing it; the package's own code and node_modules keep their one copy
 * (one `zod`, one `nsqworker` for every load). A CommonJS module has no query (its fresh load empties
 * require.cache instead): what it imports with import() gets the query of the load whose code runs
 * now, which the hook reads from memory it shares with this thread ({@link freshLoadTookOver}); so
 * does code loaded before the first fresh load (all of it, in a process that did not load code
 * afresh). Node's `module.register` (Node 20: customization hooks, run in the hooks thread), from a
 * data: URL, so that the hook needs no file of its own in the build.
 */
import { register } from 'node:module';
import { OWN_CODE_ROOT } from './own-files.ts';

/** The query that marks a fresh load: `?nsqworker-load=<n>`. */
export const FRESH_LOAD_QUERY = 'nsqworker-load';

// Runs in the hooks thread: plain JavaScript, Node's own modules only. `ownCodeRoot`: isOwnCode's
// root; `latest`: the number of the fresh load whose code runs, 0 before the first.
const HOOK = `
import { fileURLToPath } from 'node:url';
const QUERY = ${JSON.stringify(FRESH_LOAD_QUERY)};
let ownCodeRoot = '';
let latest;
export function initialize(data) {
  ownCodeRoot = data.ownCodeRoot;
  latest = new Int32Array(data.latest);
}
function isProjectFile(url) {
  if (!url.startsWith('file:')) return false;
  const path = fileURLToPath(url);
  return !/[\\\\/]node_modules[\\\\/]/.test(path) && !path.startsWith(ownCodeRoot);
}
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const parent = context.parentURL;
  if (parent === undefined || resolved.url.includes('?') || !isProjectFile(resolved.url)) return resolved;
  const load = parent.includes(QUERY + '=') ? new URL(parent).searchParams.get(QUERY) : isProjectFile(parent) ? Atomics.load(latest, 0) : 0;
  return load === 0 || load === '0' ? resolved : { ...resolved, url: resolved.url + '?' + QUERY + '=' + load };
}
`;

/** The number of the fresh load whose code runs, shared with the hook. */
const latest = new Int32Array(new SharedArrayBuffer(4));

let registered = false;

/** Registers the hook, once per process; after tsx's ES module hooks. */
export function registerFreshImports(): void {
  if (registered) return;
  registered = true;
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { ownCodeRoot: OWN_CODE_ROOT, latest: latest.buffer } });
}

/**
 * The code of fresh load `load` (user-code.ts's beginFreshLoad) took over: import() from code with
 * no load of its own (a CommonJS module) now gets that load's modules. A load that failed never
 * takes over, and the code running keeps its own.
 */
export function freshLoadTookOver(load: number): void {
  Atomics.store(latest, 0, load);
}
