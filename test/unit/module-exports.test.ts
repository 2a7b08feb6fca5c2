/**
 * What a worker module exports, in words, for the error that says a worker file exports no worker
 * (module-exports.ts): a module that exports nothing reads as a missing `export default`, an empty
 * file as one saved half-way (worker-runtime.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeExports } from '../../runner/worker/module-exports.ts';
import { workerRuntimeOf } from '../../runner/worker/worker-runtime.ts';

describe('describeExports', () => {
  it('asks whether export default is missing when nothing is exported (CommonJS gives an empty object)', () => {
    expect(describeExports({ default: {} })).toBe('default: an empty object (nothing exported: is `export default` missing before defineWorker(...)?)');
  });

  it('names the keys of an object, the named exports, and a missing default', () => {
    expect(describeExports({ default: { tasks: {}, options: 1 } })).toMatch(/^default: an object with keys tasks, options/);
    expect(describeExports({ default: {}, helper: 1 })).toBe('default: an object with keys (none); named exports: helper');
    expect(describeExports({ helper: 1 })).toBe('no default export; named exports: helper');
  });

  it('says a plain function is a task alone, without the name the language gives an anonymous default', () => {
    const anonymous = { default: async function () {} };
    Object.defineProperty(anonymous.default, 'name', { value: 'default' });
    const hint = ' (a task alone is no worker: export default defineWorker({ tasks: { name: yourFunction } }))';
    expect(describeExports(anonymous)).toBe(`default: a function${hint}`);
    expect(describeExports({ default: async function handle() {} })).toBe(`default: a function handle${hint}`);
    expect(describeExports({ default: class Billing {} })).toBe('default: a class Billing');
    const anonymousClass = { default: class {} };
    Object.defineProperty(anonymousClass.default, 'name', { value: 'default' });
    expect(describeExports(anonymousClass)).toBe('default: a class (anonymous)');
    expect(describeExports({ default: function defineWorker() {} })).toBe('default: defineWorker itself (call it: export default defineWorker({ tasks: { ... } }))');
  });
});

describe('workerRuntimeOf', () => {
  it('says a worker file is empty rather than that its export default is missing', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nsqworker-exports-'));
    try {
      const file = path.join(dir, 'log_pageview_worker.ts');
      writeFileSync(file, '');
      expect(() => workerRuntimeOf({ default: {} }, file)).toThrow(`${file}: the file is empty (saved half-way?)`);
      writeFileSync(file, 'defineWorker({});\n');
      expect(() => workerRuntimeOf({ default: {} }, file)).toThrow('nothing exported: is `export default` missing');
      expect(() => workerRuntimeOf({ default: { tasks: {} } }, file)).toThrow(
        /found default: an object with keys tasks.* \(a definition not passed through defineWorker: write export default defineWorker\(\{ \.\.\. \}\)\)$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
