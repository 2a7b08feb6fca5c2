/**
 * What a worker module exports, in words, for the error that says a worker file exports no worker
 * (module-exports.ts): a module that exports nothing reads as a missing `export default`.
 */
import { describe, expect, it } from 'vitest';
import { describeExports } from '../../runner/worker/module-exports.ts';

describe('describeExports', () => {
  it('asks whether export default is missing when nothing is exported (CommonJS gives an empty object)', () => {
    expect(describeExports({ default: {} })).toBe('default: an empty object (nothing exported: is `export default` missing before defineWorker(...)?)');
  });

  it('names the keys of an object, the named exports, and a missing default', () => {
    expect(describeExports({ default: { tasks: {}, options: 1 } })).toMatch(/^default: an object with keys tasks, options/);
    expect(describeExports({ default: {}, helper: 1 })).toBe('default: an object with keys (none); named exports: helper');
    expect(describeExports({ helper: 1 })).toBe('no default export; named exports: helper');
  });
});
