/**
 * Where a --watch child writes the throwaway module it warms tsx up with: the project's
 * node_modules/.cache/nsqworker, one file per process; nowhere (and nothing created) where the
 * project has no node_modules folder.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { warmUpFolder, warmUpModuleOf } from '../../runner/worker/user-code.ts';

let project: string;

beforeEach(() => {
  project = mkdtempSync(join(tmpdir(), 'warm-up-folder-'));
});

afterEach(() => rmSync(project, { recursive: true, force: true }));

describe('warmUpFolder', () => {
  it('is node_modules/.cache/nsqworker, created, with one module per process', () => {
    mkdirSync(join(project, 'node_modules'));
    const folder = warmUpFolder(project);
    expect(folder).toBe(join(project, 'node_modules', '.cache', 'nsqworker'));
    expect(statSync(folder!).isDirectory()).toBe(true);
    expect(warmUpModuleOf(folder!, 41, 'module')).not.toBe(warmUpModuleOf(folder!, 42, 'module'));
    expect(warmUpModuleOf(folder!, 41, 'module').startsWith(folder!)).toBe(true);
    // A CommonJS project warms up tsx's require hooks, with a module they load.
    expect(warmUpModuleOf(folder!, 41, 'commonjs')).toMatch(/\.cts$/);
    expect(warmUpModuleOf(folder!, 41, 'module')).toMatch(/\.mts$/);
  });

  it('is none, and creates nothing, where the project has no node_modules folder', () => {
    expect(warmUpFolder(project)).toBeUndefined();
    expect(existsSync(join(project, 'node_modules'))).toBe(false);
  });
});
