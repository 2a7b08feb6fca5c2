/**
 * The files a load that failed for a missing module would have loaded (load-failure.ts), which
 * --watch watches so that creating the file reloads: Node's ES module message names the absolute
 * path, CommonJS's the specifier as written; a `.js` specifier in TypeScript names the `.ts` beside
 * it; a package's name gives none.
 */
import { describe, expect, it } from 'vitest';
import { missingModuleFiles } from '../../runner/worker/load-failure.ts';

const IMPORTER = '/srv/app/workers/log/log_pageview_worker.ts';

describe('missingModuleFiles', () => {
  it('gives each source extension and folder index of a path, the .ts of a .js, and nothing for a package or another error', () => {
    const esm = missingModuleFiles(new Error("Cannot find module '/srv/app/lib/extra' imported from " + IMPORTER), IMPORTER);
    const cjs = missingModuleFiles(new Error("Cannot find module '../../lib/extra'\nRequire stack:\n- " + IMPORTER), IMPORTER);
    expect(esm).toEqual(cjs);
    expect(esm).toContain('/srv/app/lib/extra.ts');
    expect(esm).toContain('/srv/app/lib/extra.cjs');
    expect(esm).toContain('/srv/app/lib/extra/index.ts');
    expect(esm).toHaveLength(12);
    expect(missingModuleFiles(new Error("Cannot find module './helper.js'"), IMPORTER)).toEqual(['/srv/app/workers/log/helper.js', '/srv/app/workers/log/helper.ts']);
    expect(missingModuleFiles(new Error("Cannot find module 'left-pad'"), IMPORTER)).toEqual([]);
    expect(missingModuleFiles(new Error('Unexpected token'), IMPORTER)).toEqual([]);
  });
});
