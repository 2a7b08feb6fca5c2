/**
 * The dependency rules of the design, checked on the real import statements:
 * protocol/ imports nothing of ours; broker/ never imports client/ or runner/; client/ never imports
 * broker/ or runner/. The runner may import everything.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, folder))) {
    const path = join(folder, entry);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (path.endsWith('.ts')) out.push(path);
  }
  return out;
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
  { folder: 'protocol', forbidden: ['broker', 'client', 'runner', 'workers', 'index.ts'] },
  { folder: 'broker', forbidden: ['client', 'runner', 'workers', 'index.ts'] },
  { folder: 'client', forbidden: ['broker', 'runner', 'workers', 'index.ts'] },
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

  it('protocol/ imports only itself, node built-ins and zod', () => {
    const outside = sourceFiles('protocol').flatMap((file) => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      return [...text.matchAll(/from\s+['"]([^'".][^'"]*)['"]/g)]
        .map((match) => match[1]!)
        .filter((spec) => !spec.startsWith('node:') && spec !== 'zod')
        .map((spec) => `${file} imports ${spec}`);
    });
    expect(outside).toEqual([]);
  });
});
