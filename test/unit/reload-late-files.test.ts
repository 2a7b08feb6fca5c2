/**
 * A file the worker's code loads late (an import() in a task) is watched only once the child has told
 * the runner of it, and the watch on it starts a while after that: a save in between is caught by
 * comparing the file with the snapshot the child took as it loaded it, at once and again once the
 * watch has had time to start. A file left as loaded is never reported.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

describe('ProjectWatcher.checkLoaded', () => {
  it('reports a file saved before the check at once, one saved before its watch began at the second look, and never one left as loaded', async () => {
    const early = join(dir, 'early.ts');
    const late = join(dir, 'late.ts');
    const untouched = join(dir, 'untouched.ts');
    for (const file of [early, late, untouched]) writeFileSync(file, 'export const n = 1;\n');
    const snapshots = snapshotFiles([early, late, untouched]); // as the child loaded them
    writeFileSync(early, 'export const n = 2;\n'); // saved before the runner heard of the file
    const reports: string[][] = [];
    let reportCame: (() => void) | undefined;
    watcher = new ProjectWatcher((changed) => {
      reports.push([...changed].sort());
      reportCame?.();
    }, pino({ level: 'silent' }));
    const reported = async (count: number): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (reports.length < count) {
        if (Date.now() > deadline) throw new Error(`no report #${count} within 5 s: ${JSON.stringify(reports)}`);
        await new Promise<void>((resolve) => {
          reportCame = resolve;
          setTimeout(resolve, 100);
        });
      }
    };

    watcher.set([early, late, untouched]);
    watcher.checkLoaded(snapshots);
    // Saved after the first look, in the same turn: the watch on this new folder has not started yet.
    writeFileSync(late, 'export const n = 2;\n');
    await reported(1);
    expect(reports).toEqual([[early]]);
    // The second look compares every file with its snapshot again: the early save is still a change
    // (the reload it caused is told from a new save by reloading-executor.ts).
    await reported(2);
    expect(reports).toEqual([[early], [early, late]]);
  });
});
