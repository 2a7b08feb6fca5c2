/**
 * A file the worker's code loads late (an import() in a task) is watched only once the child has told
 * the runner of it: a save in between is caught by comparing the file with the snapshot the child took
 * as it loaded it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { snapshotList } from '../../runner/reload/file-snapshot.ts';
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
  it('reports a file saved after the child loaded it and before the watch on it began; not one left as loaded', async () => {
    const saved = join(dir, 'later.ts');
    const untouched = join(dir, 'other.ts');
    writeFileSync(saved, "export const word = 'one';\n");
    writeFileSync(untouched, 'export const n = 1;\n');
    const snapshots = snapshotList([saved, untouched]); // as the child loaded them
    writeFileSync(saved, "export const word = 'two';\n"); // saved before the runner watches it
    const reports: string[][] = [];
    let reported!: () => void;
    const first = new Promise<void>((resolve) => (reported = resolve));
    watcher = new ProjectWatcher((changed) => {
      reports.push([...changed]);
      reported();
    }, pino({ level: 'silent' }));
    watcher.set([saved, untouched]);
    watcher.checkLoaded([saved, untouched], snapshots);
    await first;
    expect(reports).toEqual([[saved]]);
  });
});
