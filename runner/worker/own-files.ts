/**
 * Which loaded files are the user's project and which are this package's own running code. Only
 * the package's running code is ours (`dist/` once built: package-paths.ts). The package's root is not: a project laid out inside it — as this repository's example
 * workers are, importing `lib/…` beside `dist/` — has files there that a reload must watch and a
 * failed load must point at.
 */
import { isAbsolute, sep } from 'node:path';
import { CODE_ROOT } from '../../package-paths.ts';

/** The root of the package's running code, with a trailing separator. */
export const OWN_CODE_ROOT = CODE_ROOT + sep;

/** True for a module of this package's running code. */
export function isOwnCode(path: string): boolean {
  return path.startsWith(OWN_CODE_ROOT);
}

/**
 * True for a file of the user's project: a path (not a `data:` or `node:` module), not a
 * dependency, and not this package's running code.
 */
export function isProjectFile(path: string): boolean {
  return isAbsolute(path) && !path.includes(`${sep}node_modules${sep}`) && !isOwnCode(path);
}
