/**
 * The watch of --watch (project-watcher.ts).
 *
 * A file the worker's code loads late (an import() in a task) is watched only once the child has told
 * the runner of it, and on some platforms (macOS) the watch starts a while after that: a save in
 * between is caught by comparing the file with the snapshot the child took as it loaded it, at once
 * and again once the watch has had time to start. A file left as loaded is never reported.
 *
 * The project folder holds the config file, and what a worker writes as it runs: a log, a file per
 * message. Writes to such files are not reported, and cost no read of the folder: a watcher that
 * lists the folder again at each event of any file in it (chokidar's folder watch does) took a
 * quarter of a core here while a worker appended 200 lines a second.
 */
import fsPromises from 'node:fs/promises';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { snapshotFiles } from '../../runner/reload/file-snapshot.ts';
import { ProjectWatcher } from '../../runner/reload/project-watcher.ts';

let dir: string;
let watcher: ProjectWatcher | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'late-files-'));
});

afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A watcher (closed by afterEach) and its reports, each sorted; `reported(n)` waits for the n-th (5 s at most). */
function recordedWatcher(): { watcher: ProjectWatcher; reports: string[][]; reported(count: number): Promise<string[]> } {
  const reports: string[][] = [];
  let reportCame: (() => void) | undefined;
  const recorded = new ProjectWatcher((changed) => {
    reports.push([...changed].sort());
    reportCame?.();
  }, pino({ level: 'silent' }));
  watcher = recorded;
  return {
    watcher: recorded,
    reports,
    async reported(count) {
      const deadline = Date.now() + 5000;
      while (reports.length < count) {
        if (Date.now() > deadline) throw new Error(`no report #${count} within 5 s: ${JSON.stringify(reports)}`);
        await new Promise<void>((resolve) => {
          reportCame = resolve;
          setTimeout(resolve, 100);
        });
      }
      return reports[count - 1]!;
    },
  };
}

/** lib/util.ts in the test's folder, watched; `next()` waits for the report after those so far. */
function watchedLib(): { lib: string; util: string; reports: string[][]; next(): Promise<string[]> } {
  const lib = join(dir, 'lib');
  const util = join(lib, 'util.ts');
  mkdirSync(lib);
  writeFileSync(util, 'export const U = 1;\n');
  const { watcher: w, reports, reported } = recordedWatcher();
  w.set([util]);
  return { lib, util, reports, next: () => reported(reports.length + 1) };
}

describe('ProjectWatcher.checkLoaded', () => {
  it('reports a file saved before the check at once, one saved as its watch began by the watch or the second look, and never one left as loaded', async () => {
    const early = join(dir, 'early.ts');
    const late = join(dir, 'late.ts');
    const untouched = join(dir, 'untouched.ts');
    for (const file of [early, late, untouched]) writeFileSync(file, 'export const n = 1;\n');
    const snapshots = snapshotFiles([early, late, untouched]); // as the child loaded them
    writeFileSync(early, 'export const n = 2;\n'); // saved before the runner heard of the file
    const { watcher: w, reports, reported } = recordedWatcher();

    w.set([early, late, untouched]);
    w.checkLoaded(snapshots);
    // Saved after the first look, in the same turn: where a watch starts late (macOS), only the
    // second look sees it; on Linux the watch is on already.
    writeFileSync(late, 'export const n = 2;\n');
    await reported(1);
    // The first report has the early save (the late one too, where the watch saw it in the same turn).
    expect(reports[0]).toContain(early);
    expect(reports[0]).not.toContain(untouched);
    // The second look compares every file with its snapshot again: the early save is still a change
    // (the reload it caused is told from a new save by reloading-executor.ts).
    const secondLook = async (): Promise<void> => {
      while (!reports.slice(1).some((report) => report.includes(early))) await reported(reports.length + 1);
    };
    await secondLook();
    const reportedFiles = new Set(reports.flat());
    expect([...reportedFiles].sort()).toEqual([early, late].sort());
    expect(reports.at(-1)).toEqual([early, late].sort());
  });
});

/** Runs `body` while counting the folders read through node:fs/promises (what chokidar's readdirp uses). */
async function countingFolderReads(body: (reads: string[]) => Promise<void>): Promise<void> {
  const realReaddir = fsPromises.readdir;
  const reads: string[] = [];
  fsPromises.readdir = ((path: Parameters<typeof realReaddir>[0], ...rest: unknown[]) => {
    reads.push(String(path));
    return (realReaddir as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof realReaddir;
  syncBuiltinESMExports();
  try {
    await body(reads);
  } finally {
    fsPromises.readdir = realReaddir;
    syncBuiltinESMExports();
  }
}

describe('ProjectWatcher in a folder other files are written to', () => {
  it('reports neither those writes nor reads the folder for them, and still reports a save of a watched file', async () => {
    const config = join(dir, 'nsqworker.config.ts');
    const output = join(dir, 'handled.jsonl');
    writeFileSync(config, 'export default {};\n');
    const reports: string[][] = [];
    let reportCame: (() => void) | undefined;
    await countingFolderReads(async (folderReads) => {
      watcher = new ProjectWatcher((changed) => {
        reports.push([...changed]);
        reportCame?.();
      }, pino({ level: 'silent' }));
      watcher.set([config]);
      for (let i = 0; i < 50; i++) {
        appendFileSync(output, `line ${i}\n`);
        // One turn of the event loop after each write: each is an event of its own.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      writeFileSync(config, 'export default { maxInFlight: 2 };\n');
      const deadline = Date.now() + 5000;
      while (reports.length === 0) {
        if (Date.now() > deadline) throw new Error('the save of the watched file was not reported within 5 s');
        await new Promise<void>((resolve) => {
          reportCame = resolve;
          setTimeout(resolve, 100);
        });
      }
      expect(reports).toEqual([[config]]);
      expect(folderReads.filter((path) => path.startsWith(dir))).toEqual([]);
    });
  });
});

describe('ProjectWatcher and a watched folder that is replaced', () => {
  it('deleted and made again, its files are reported and later saves in it are too', async () => {
    const { lib, util, next } = watchedLib();

    const replaced = next();
    rmSync(lib, { recursive: true });
    mkdirSync(lib);
    writeFileSync(util, 'export const U = 2;\n');
    expect(await replaced).toEqual([util]);
    // Whatever the events of the swap were, a save in the new folder is seen.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const saved = next();
    writeFileSync(util, 'export const U = 3;\n');
    expect(await saved).toEqual([util]);
  });

  it('moved away: its edits there are not reported; a folder at the path again is, once back', async () => {
    const { lib, util, reports, next } = watchedLib();
    const away = join(dir, 'away');

    renameSync(lib, away);
    // The move's own report (the file is gone from the path), if the platform gives one.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = reports.length;
    writeFileSync(join(away, 'util.ts'), 'export const U = 2;\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reports.slice(before)).toEqual([]);

    const back = next();
    mkdirSync(lib);
    writeFileSync(util, 'export const U = 3;\n');
    expect(await back).toEqual([util]);
  });
});

describe('ProjectWatcher and the entries of a watched folder', () => {
  it('a watched folder deleted reports its files at once; an entry named like the folder is an entry like any other', async () => {
    const { lib, util, reports, next: nextReport } = watchedLib();

    // A file named like its folder, made and removed: neither is the folder's own event.
    writeFileSync(join(lib, 'lib'), 'x');
    rmSync(join(lib, 'lib'));
    // Time for a wrong report of their own (proving none comes needs a wait), before the save's.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const saved = nextReport();
    writeFileSync(util, 'export const U = 2;\n');
    expect(await saved).toEqual([util]);
    expect(reports).toEqual([[util]]);

    const gone = nextReport();
    rmSync(lib, { recursive: true });
    expect(await gone).toEqual([util]);
  });
});
