/**
 * Where this package's files are, whichever way its code runs: from the TypeScript sources of a
 * checkout (tests), or built — `npm run build` compiles to `dist/` and bundles what processes run
 * into `dist/bundle/` (scripts/bundle.mjs), where a module's own URL says nothing of its source
 * folder (its code may sit in any shared chunk). So paths are taken from the package's root, the
 * nearest folder up with nsqworker's package.json, never relative to a module's own URL.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(import.meta.url);

/** True when this code runs from the TypeScript sources (a checkout's tests), not from the build. */
const FROM_SOURCES = HERE.endsWith('.ts');

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'nsqworker') return dir;
    if (dirname(dir) === dir) return from;
  }
}

/** The package's root folder: the repository in a checkout, `node_modules/nsqworker` installed. */
export const PACKAGE_ROOT = findPackageRoot(dirname(HERE));

/** The folder of the code that runs: the package's root from sources, `dist/` built. */
export const CODE_ROOT = FROM_SOURCES ? PACKAGE_ROOT : join(PACKAGE_ROOT, 'dist');

/**
 * The file a process runs as `entry` (a path under the sources without extension, say
 * `runner/reload/host`): its bundle entry when built, its TypeScript source from sources.
 */
export function entryFile(entry: string): string {
  return FROM_SOURCES ? join(PACKAGE_ROOT, `${entry}.ts`) : join(PACKAGE_ROOT, 'dist', 'bundle', `${entry}.js`);
}
