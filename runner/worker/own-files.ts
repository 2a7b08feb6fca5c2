/**
 * Which loaded files are the user's project and which are this package's own running code. Only
 * the package's compiled code is ours: the folder two levels above this module (`dist/` once
 * built). The package's root is not: a project laid out inside it — as this repository's example
 * workers are, importing `lib/…` beside `dist/` — has files there that a reload must watch and a
 * failed load must point at.
 */
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The root of the package's running code, with a trailing separator. */
export const OWN_CODE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..') + sep;

/** True for a module of this package's running code. */
export function isOwnCode(path: string): boolean {
  return path.startsWith(OWN_CODE_ROOT);
}

/** True for a file of the user's project: not a dependency, and not this package's running code. */
export function isProjectFile(path: string): boolean {
  return !path.includes(`${sep}node_modules${sep}`) && !isOwnCode(path);
}
