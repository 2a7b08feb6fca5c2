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
import { PlacedLoadError } from './placed-load-error.ts';

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
 * `source` with what is not code blanked, lines kept: comments, and the text of strings and template
 * literals (a `${…}` in a template is code); and each string literal's text by its opening quote's
 * index. Enough to find import statements: a regular expression literal is read as code.
 */
function scanCode(source: string): { code: string; strings: Map<number, string> } {
  const code = source.split('');
  const strings = new Map<number, string>();
  const blank = (from: number, to: number): void => {
    for (let i = from; i < to; i++) if (code[i] !== '\n') code[i] = ' ';
  };
  const templates: number[] = []; // for each open template's `${`, the brace depth it began at
  let depth = 0;
  let i = 0;
  const template = (start: number): void => {
    // From `start` (inside a template's text) to its closing backtick, or to a `${`, which is code.
    let j = start;
    while (j < source.length && source[j] !== '`' && !(source[j] === '$' && source[j + 1] === '{')) j += source[j] === '\\' ? 2 : 1;
    blank(start, Math.min(j, source.length));
    if (source[j] === '$') templates.push(depth++);
    i = j + (source[j] === '$' ? 2 : 1);
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === '/' && source[i + 1] === '/') {
      const end = source.indexOf('\n', i);
      blank(i, end === -1 ? source.length : end);
      i = end === -1 ? source.length : end;
    } else if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      blank(i, end === -1 ? source.length : end + 2);
      i = end === -1 ? source.length : end + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < source.length && source[j] !== c && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      strings.set(i, source.slice(i + 1, j));
      blank(i + 1, j);
      i = j + 1;
    } else if (c === '`') {
      template(i + 1);
    } else if (c === '}' && templates.length > 0 && templates.at(-1) === depth - 1) {
      templates.pop();
      depth--;
      template(i + 1);
    } else {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      i++;
    }
  }
  return { code: code.join(''), strings };
}

/** The names `source` imports from nsqworker (`import { a, type B, c as d }`, after a default import too); none written in a comment or a string. */
export function nsqworkerImports(source: string): NsqworkerImport[] {
  const { code, strings } = scanCode(source);
  const imports: NsqworkerImport[] = [];
  for (const match of code.matchAll(/\bimport\s*(type\s+)?(?:[\w$]+\s*,\s*)?\{([^}]*)\}\s*from\s*(['"])/g)) {
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
