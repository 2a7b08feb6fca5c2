/**
 * Worker files in a folder named almost as the workers folder (runner/worker/discover.ts): what a
 * run, `list` and `dev` say when `workers/` is missing but `worker/` or `src/workers/` holds them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { discoverWorkers, findWorker } from '../../runner/worker/discover.ts';
import { noWorkersFound, noWorkersYet, workersElsewhere, workersFolderNear } from '../../runner/worker/workers-folder-hints.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A project folder holding `files` (paths relative to it), as a path relative to the current folder. */
function project(files: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nsqworker-near-'));
  dirs.push(dir);
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), 'export default {};\n');
  }
  return path.relative(process.cwd(), dir);
}

it('finds worker files in a folder a typo from the one named, or under src/', () => {
  const singular = project(['worker/log/log_pageview_worker.ts']);
  expect(workersFolderNear(path.join(singular, 'workers'))).toBe(path.join(singular, 'worker'));
  const capital = project(['Workers/log/log_pageview_worker.ts']);
  expect(workersFolderNear(path.join(capital, 'workers'))).toBe(path.join(capital, 'Workers'));
  const underSrc = project(['src/workers/log/log_pageview_worker.ts']);
  expect(workersFolderNear(path.join(underSrc, 'workers'))).toBe(path.join(underSrc, 'src/workers'));
  expect(noWorkersYet(path.join(underSrc, 'workers'))).toBe(
    `no workers yet: ${path.join(underSrc, 'src/workers')}/ holds worker files, not ${path.join(underSrc, 'workers')}/: rename it ${path.join(underSrc, 'workers')}/, or give --workers-dir ${path.join(underSrc, 'src/workers')}`,
  );
});

it('offers the flag alone for a folder named with --workers-dir, and the project above a subfolder', () => {
  // --workers-dir worker, where the project has workers/: renaming workers/ to worker/ would be no help.
  const plural = project(['workers/log/log_pageview_worker.ts']);
  expect(noWorkersFound(path.join(plural, 'worker'))).toBe(
    `no ${path.join(plural, 'worker')}/ folder in ${process.cwd()}, but ${path.join(plural, 'workers')}/ holds worker files: give --workers-dir ${path.join(plural, 'workers')}`,
  );
  // Run in a subfolder of a project: the project's folder is named.
  const root = path.resolve(project(['workers/log/log_pageview_worker.ts', 'sub/deeper/notes.txt']));
  const cwd = process.cwd();
  process.chdir(path.join(root, 'sub/deeper'));
  try {
    expect(noWorkersFound('workers')).toBe(`no workers/ folder in ${path.join(root, 'sub/deeper')}, but ${root} has one with worker files: run nsqworker there (cd ${root}), where its config file and broker data are`);
    expect(noWorkersFound('workers', 'nsqworker dev')).toContain(`: run nsqworker dev there (cd ${root})`);
    expect(workersElsewhere('workers')).toBe(true);
    // A package.json on the way up is the current project's root: nothing above it is named.
    writeFileSync(path.join(root, 'sub/package.json'), '{}\n');
    expect(noWorkersFound('workers')).toContain(": run nsqworker in your project's folder");
    expect(workersElsewhere('workers')).toBe(false);
    expect(noWorkersYet('workers')).toBe('no workers yet: add workers/<topic>/<topic>_<channel>_worker.ts');
  } finally {
    process.chdir(cwd);
  }
});

it('offers no folder whose files are not workers, or whose name is far from the one named', () => {
  const helpers = project(['worker/helpers.ts', 'jobs/log/log_pageview_worker.ts']);
  expect(workersFolderNear(path.join(helpers, 'workers'))).toBeUndefined();
  expect(noWorkersFound(path.join(helpers, 'workers'))).toContain(": run nsqworker in your project's folder, or name the folder with --workers-dir");
  expect(noWorkersYet(path.join(helpers, 'workers'))).toBe(`no workers yet: add ${path.join(helpers, 'workers')}/<topic>/<topic>_<channel>_worker.ts`);
});

it('names a compiled .js beside its .ts as what tsc wrote, when two files name one worker', () => {
  const compiled = project(['workers/log/log_pageview_worker.ts', 'workers/log/log_pageview_worker.js']);
  expect(() => discoverWorkers(path.join(compiled, 'workers'))).toThrow(
    /; keep one \(a compiled copy, as `tsc` writes one beside its source: delete the \.js file, and type-check with `tsc --noEmit`\)$/,
  );
  const different = project(['workers/log/log_pageview_worker.ts', 'workers/log/log_pageview_worker.mjs']);
  expect(() => discoverWorkers(path.join(different, 'workers'))).toThrow(/; keep one$/);
});

it("refuses a worker's second file when that worker is asked for, not when another is", () => {
  const twin = project(['workers/log/log_pageview_worker.ts', 'workers/log/log_pageview_worker.js', 'workers/mail/mail_out_worker.ts']);
  const workers = path.join(twin, 'workers');
  expect(findWorker(workers, 'mail', 'out')?.path).toBe(path.resolve(workers, 'mail/mail_out_worker.ts'));
  expect(() => findWorker(workers, 'log', 'pageview')).toThrow(/^two worker files for topic log channel pageview: /);
  expect(discoverWorkers(workers, 'skip').map((file) => `${file.topic}/${file.channel}`)).toEqual(['log/pageview', 'mail/out']);
  expect(() => discoverWorkers(workers)).toThrow(/^two worker files/);
});

