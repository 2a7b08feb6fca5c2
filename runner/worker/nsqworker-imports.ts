/**
 * Names imported from nsqworker that it does not export (`import { GiveUpMesage } from 'nsqworker'`).
 * An ES module fails to link on one; CommonJS (what esbuild makes of a worker in a CommonJS project)
 * fails only where the name is used: at load for a top-level call (load-failure.ts words it), but
 * inside a task only when a message runs it, message after message. {@link checkNsqworkerImports}
 * says it at load instead, as an ES module would fail.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { didYouMean } from '../../protocol/suggest.ts';
import { CODE_ROOT } from '../../package-paths.ts';
import { isProjectFile } from './own-files.ts';
import { PlacedLoadError } from './placed-load-error.ts';
import { scanCode } from './source-code.ts';

/** One name of an `import { … } from 'nsqworker'`: as exported, as used in the file, and where. */
export interface NsqworkerImport {
  exported: string;
  local: string;
  /** `import type { X }` or `import { type X }`: gone once compiled. */
  typeOnly: boolean;
  /** The 1-based line of its import statement. */
  line: number;
}

/**
 * The names `source` imports from nsqworker (`import { a, type B, c as d }`, after a default import
 * too), re-exports from it (`export { a } from 'nsqworker'`, a helper's) or takes from its require
 * (`const { a, b: c } = require('nsqworker')`, a plain .js or .cjs worker's); none written in a
 * comment or a string.
 */
export function nsqworkerImports(source: string): NsqworkerImport[] {
  const { code, strings } = scanCode(source);
  const imports: NsqworkerImport[] = [];
  for (const match of code.matchAll(/\b(?:const|let|var)\s*\{([^}]*)\}\s*=\s*require\s*\(\s*(['"])/g)) {
    if (strings.get(match.index + match[0].length - 1) !== 'nsqworker') continue;
    const line = code.slice(0, match.index).split('\n').length;
    for (const entry of match[1]!.split(',').map((text) => text.replace(/=[^]*$/, '').trim())) {
      if (entry === '' || entry.startsWith('...')) continue;
      const [exported, local = exported] = entry.split(/\s*:\s*/) as [string, string?];
      imports.push({ exported, local, typeOnly: false, line });
    }
  }
  for (const match of code.matchAll(/\b(?:import|export)\s*(type\s+)?(?:[\w$]+\s*,\s*)?\{([^}]*)\}\s*from\s*(['"])/g)) {
    if (strings.get(match.index + match[0].length - 1) !== 'nsqworker') continue;
    const line = code.slice(0, match.index).split('\n').length;
    for (const entry of match[2]!.split(',').map((text) => text.trim())) {
      if (entry === '') continue;
      const typeOnly = match[1] !== undefined || /^type\s/.test(entry);
      const [exported, local = exported] = entry.replace(/^type\s+/, '').split(/\s+as\s+/) as [string, string?];
      imports.push({ exported, local, typeOnly, line });
    }
  }
  return imports;
}

/** The names nsqworker exports at run time, as the worker's own import finds the package; [] when unreadable. */
export function nsqworkerExports(workerFile: string): string[] {
  try {
    return Object.keys(createRequire(workerFile)('nsqworker') as object).filter((name) => name !== 'default' && name !== '__esModule');
  } catch {
    return [];
  }
}

/** A name imported from nsqworker that it does not export, in words, with the nearest export. */
export function noSuchExport(name: string, exports: readonly string[]): string {
  return `nsqworker has no export named ${name}${didYouMean(name, exports)}`;
}

let declared: Set<string> | undefined;

/** Every name nsqworker's declarations export, types among them (its index.ts, or dist/index.d.ts built). */
function declaredExports(): Set<string> {
  if (declared !== undefined) return declared;
  const index = [join(CODE_ROOT, 'index.d.ts'), join(CODE_ROOT, 'index.ts')].find((file) => existsSync(file));
  const text = index === undefined ? '' : readFileSync(index, 'utf8');
  declared = new Set([...text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}/gm)].flatMap((match) => match[1]!.split(',').map((entry) => entry.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!)));
  return declared;
}

/**
 * Throws PlacedLoadError for a value imported from nsqworker in `file`'s source that nsqworker
 * neither exports nor declares, a typo away from a name it exports; nothing for a name it declares
 * as a type, or one no export is near (a name used only as a type compiles away).
 */
export function checkNsqworkerImports(file: string): void {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return; // gone since it loaded: nothing to say of it
  }
  const imports = nsqworkerImports(source).filter((entry) => !entry.typeOnly);
  if (imports.length === 0) return;
  const exports = nsqworkerExports(file);
  if (exports.length === 0) return;
  const known = declaredExports();
  for (const entry of imports) {
    if (exports.includes(entry.exported) || known.has(entry.exported) || didYouMean(entry.exported, exports) === '') continue;
    throw new PlacedLoadError(file, entry.line, noSuchExport(entry.exported, exports));
  }
}

/**
 * {@link checkNsqworkerImports} for a required CommonJS module and every project file it requires,
 * however deep (each module's `children`, which lists the already cached ones too): its own graph,
 * not every file the process loaded, where another worker's failed file would be blamed for this one.
 */
export function checkRequiredNsqworkerImports(module: NodeJS.Module | undefined, seen = new Set<string>()): void {
  if (module === undefined || seen.has(module.filename) || !isProjectFile(module.filename)) return;
  seen.add(module.filename);
  checkNsqworkerImports(module.filename);
  for (const child of module.children) checkRequiredNsqworkerImports(child, seen);
}
