/**
 * The throwaway module a --watch child warms tsx up with: in the project's node_modules/.cache,
 * written once and then only reused (one path, so tsx's cache has its transform); none where the
 * project has no node_modules folder (nothing is created there).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { warmUpModule } from '../../runner/worker/user-code.ts';

let project: string;

beforeEach(() => {
  project = mkdtempSync(join(tmpdir(), 'warm-up-module-'));
});

afterEach(() => rmSync(project, { recursive: true, force: true }));

describe('warmUpModule', () => {
  it('is written once in node_modules/.cache/nsqworker, then reused as it is', () => {
    mkdirSync(join(project, 'node_modules'));
    const file = warmUpModule(project);
    expect(file).toBe(join(project, 'node_modules', '.cache', 'nsqworker', 'warm-up.mts'));
    const written = statSync(file!);
    expect(warmUpModule(project)).toBe(file);
    expect(statSync(file!).mtimeMs).toBe(written.mtimeMs);
    // No half-written copy is left beside it.
    expect(readdirSync(join(project, 'node_modules', '.cache', 'nsqworker'))).toEqual(['warm-up.mts']);
  });

  it('is none, and creates nothing, where the project has no node_modules folder', () => {
    expect(warmUpModule(project)).toBeUndefined();
    expect(existsSync(join(project, 'node_modules'))).toBe(false);
  });
});
