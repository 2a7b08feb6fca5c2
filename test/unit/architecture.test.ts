/**
 * The dependency rules of the design, checked on the real import statements:
 * protocol/ imports nothing of ours; broker/ never imports client/ or runner/; client/ never imports
 * broker/ or runner/. console/ speaks to nsqd and nsqlookupd over their HTTP APIs only, so it may use
 * protocol/ and client/ and nothing else of ours; nothing but the runner imports console/. The runner
 * may import everything. Inside those rules, no two source files import each other, however long the
 * way round (`import type` counts: a circle of types is still a circle a reader has to untangle), and
 * no source file grows past 300 lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Folders that hold no source of the package: dependencies, tests, benchmarks, the build, state. */
const NOT_SOURCE = new Set(['node_modules', 'test', 'bench', 'dist', '.git', '.nsqworker']);

function sourceFiles(folder: string, extensions: readonly string[] = ['.ts']): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, folder))) {
    if (folder === '' && NOT_SOURCE.has(entry)) continue;
    if (entry === 'node_modules') continue;
    const path = join(folder, entry);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sourceFiles(path, extensions));
    else if (extensions.some((extension) => path.endsWith(extension)) && !path.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/**
 * The files of ours a file imports, as paths from the root: static imports and re-exports, `import
 * type`, side-effect imports, and `import('…')` in a type. An `await import('…')` is left out: it is
 * a load on demand that runs after every module has been evaluated (the CLI's tools; user-code.ts
 * handing the user's code the package already running), not an edge of the module graph.
 */
function importedFiles(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const statics = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g),
    ...text.matchAll(/(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]/g),
  ].map((match) => match[1]!);
  const inTypes = [...text.matchAll(/(\bawait\s+)?\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)]
    .filter((match) => match[1] === undefined)
    .map((match) => match[2]!);
  const specifiers = [...statics, ...inTypes];
  return [...new Set(specifiers.map((spec) => relative(ROOT, resolve(join(ROOT, dirname(file)), spec))))];
}

/** Every circle of imports among `files`: the strongly connected components with more than one file (Tarjan). */
function importCircles(files: readonly string[]): string[][] {
  const known = new Set(files);
  const edges = new Map(files.map((file) => [file, importedFiles(file).filter((target) => known.has(target))]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of edges.get(file)!) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || edges.get(file)!.includes(file)) circles.push(component.sort());
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return circles;
}

/** Top-level folders of ours that a file imports (relative imports only). */
function importedFolders(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const folders: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = relative(ROOT, resolve(join(ROOT, dirname(file)), match[1]!));
    folders.push(target.split('/')[0]!);
  }
  return folders;
}

const rules: Array<{ folder: string; forbidden: string[] }> = [
  { folder: 'protocol', forbidden: ['broker', 'client', 'runner', 'console', 'workers', 'index.ts'] },
  { folder: 'broker', forbidden: ['client', 'runner', 'console', 'workers', 'index.ts'] },
  { folder: 'client', forbidden: ['broker', 'runner', 'console', 'workers', 'index.ts'] },
];

/** Inside runner/: the worker contract and the settings stand below what runs them (see each folder's README). */
const runnerRules: Array<{ folder: string; forbidden: string[] }> = [
  { folder: 'runner/worker', forbidden: ['runner/config', 'runner/ops', 'runner/commands', 'runner/reload', 'runner/tools', 'runner/cli.ts', 'runner/run-plan.ts'] },
  { folder: 'runner/config', forbidden: ['runner/ops', 'runner/commands', 'runner/reload', 'runner/tools', 'runner/cli.ts', 'runner/run-plan.ts'] },
];

describe('module dependency rules', () => {
  for (const { folder, forbidden } of rules) {
    it(`${folder}/ imports none of ${forbidden.join(', ')}`, () => {
      const files = sourceFiles(folder);
      expect(files.length).toBeGreaterThan(0);
      const violations = files.flatMap((file) =>
        importedFolders(file)
          .filter((target) => forbidden.includes(target))
          .map((target) => `${file} imports ${target}/`),
      );
      expect(violations).toEqual([]);
    });
  }

  // package-paths.ts: where the page's built assets are, from the sources or the bundle.
  it('console/ imports only console/, client/, protocol/ and package-paths.ts of ours', () => {
    const outside = sourceFiles('console').flatMap((file) =>
      importedFolders(file)
        .filter((target) => !['console', 'client', 'protocol', 'package-paths.ts'].includes(target))
        .map((target) => `${file} imports ${target}`),
    );
    expect(outside).toEqual([]);
  });

  // Benchmarks, tests and the screenshot script drive the console as a user would; the package does not.
  it('nothing of the package but runner/ imports console/', () => {
    const importers = ['index.ts', ...['protocol', 'broker', 'client', 'workers'].flatMap((folder) => sourceFiles(folder))].flatMap((file) =>
      importedFolders(file)
        .filter((target) => target === 'console')
        .map(() => `${file} imports console/`),
    );
    expect(importers).toEqual([]);
  });

  // zod (and zod/mini) for the schemas; snappy and @node-rs/crc32 for the snappy framing codec (protocol/snappy-framing.ts).
  const PROTOCOL_PACKAGES: ReadonlySet<string> = new Set(['zod', 'zod/mini', 'snappy', '@node-rs/crc32']);

  it('protocol/ imports only itself, node built-ins, zod, and the snappy block and CRC-32C packages', () => {
    const outside = sourceFiles('protocol').flatMap((file) => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      return [...text.matchAll(/from\s+['"]([^'".][^'"]*)['"]/g)]
        .map((match) => match[1]!)
        .filter((spec) => !spec.startsWith('node:') && !PROTOCOL_PACKAGES.has(spec))
        .map((spec) => `${file} imports ${spec}`);
    });
    expect(outside).toEqual([]);
  });

  for (const { folder, forbidden } of runnerRules) {
    it(`${folder}/ imports none of ${forbidden.join(', ')}`, () => {
      const files = sourceFiles(folder);
      expect(files.length).toBeGreaterThan(0);
      const violations = files.flatMap((file) =>
        importedFiles(file)
          .filter((target) => forbidden.some((path) => target === path || target.startsWith(`${path}/`)))
          .map((target) => `${file} imports ${target}`),
      );
      expect(violations).toEqual([]);
    });
  }

  it('no source file imports itself back through another (import type included)', () => {
    const files = sourceFiles('');
    expect(files.length).toBeGreaterThan(100);
    expect(importCircles(files).map((circle) => circle.join(' <-> '))).toEqual([]);
  });

  it('no source file outside test/ and bench/ is longer than 300 lines', () => {
    const long = sourceFiles('', ['.ts', '.js'])
      .map((file) => ({ file, lines: readFileSync(join(ROOT, file), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > 300)
      .map(({ file, lines }) => `${file}: ${lines} lines`);
    expect(long).toEqual([]);
  });
});
