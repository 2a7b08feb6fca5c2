/**
 * Which loaded files are the user's project (own-files.ts): what --watch watches and a failed load
 * points at. A module that is not a file (a data: URL some loaders report) is not one: watching its
 * "folder" (`data:text`) failed with ENOENT at every start.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isProjectFile, OWN_CODE_ROOT } from '../../runner/worker/own-files.ts';

describe('isProjectFile', () => {
  it('is true for a path of the project, false for a data: or node: module, a dependency, or our own code', () => {
    const cases: Array<[string, boolean]> = [
      ['/srv/app/workers/log/log_pageview_worker.ts', true],
      ['data:text/javascript,export default 1', false],
      ['node:fs', false],
      ['/srv/app/node_modules/zod/index.js', false],
      [join(OWN_CODE_ROOT, 'index.js'), false],
    ];
    expect(cases.map(([path]) => [path, isProjectFile(path)])).toEqual(cases);
  });
});
