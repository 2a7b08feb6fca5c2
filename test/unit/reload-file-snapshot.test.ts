/**
 * File snapshots of --watch: a file untouched since its snapshot is unchanged; new content, a new
 * modification time with the same content, a deletion, or a file with no snapshot is a change. A
 * child snapshots only the files its runner does not watch yet, each once, as it loads it.
 */
import { mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoadSnapshots, sameSnapshots, snapshotFiles, unchangedSince } from '../../runner/reload/file-snapshot.ts';

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'file-snapshot-'));
  file = join(dir, 'worker.ts');
  writeFileSync(file, 'export const version = 1;\n');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('file snapshots', () => {
  it('an untouched file is unchanged; one without a snapshot is not', () => {
    const loaded = snapshotFiles([file]);
    expect(unchangedSince(loaded, [file])).toBe(true);
    expect(unchangedSince(loaded, [join(dir, 'other.ts')])).toBe(false);
  });

  it('new content is a change', () => {
    const loaded = snapshotFiles([file]);
    writeFileSync(file, 'export const version = 2;\n');
    expect(unchangedSince(loaded, [file])).toBe(false);
  });

  it('the same content saved again later is a change (the code may have been loaded in between)', () => {
    const loaded = snapshotFiles([file]);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(unchangedSince(loaded, [file])).toBe(false);
  });

  it('a deleted file is a change, and stays one until it is snapshot missing', () => {
    const loaded = snapshotFiles([file]);
    unlinkSync(file);
    expect(unchangedSince(loaded, [file])).toBe(false);
    expect(unchangedSince(snapshotFiles([file]), [file])).toBe(true);
    // The same comparison on snapshots already taken (no second read of the files).
    expect(sameSnapshots(snapshotFiles([file]), snapshotFiles([file]))).toBe(true);
    expect(sameSnapshots(loaded, snapshotFiles([file]))).toBe(false);
    // Missing now and never snapshot before (deleted without a save tried): a change too.
    expect(sameSnapshots(new Map(), snapshotFiles([file]))).toBe(false);
  });

  it('a load snapshots the files not watched, each once, as it loads them; later, every file new since the last message', () => {
    const helper = join(dir, 'helper.ts');
    const later = join(dir, 'later.ts');
    writeFileSync(helper, 'export const helper = 1;\n');
    writeFileSync(later, 'export const later = 1;\n');
    const snapshots = new LoadSnapshots(new Set([file, later]));
    expect(snapshots.loaded(file)).toBe(true);
    expect(snapshots.loaded(helper)).toBe(true);
    writeFileSync(helper, 'export const helper = 2;\n'); // saved after it loaded
    expect(snapshots.loaded(helper)).toBe(false); // required again: no second snapshot
    const load = snapshots.take();
    expect([...load.keys()]).toEqual([helper]);
    expect(unchangedSince(load, [helper])).toBe(false);

    // After the load: a file loaded late gets one even if the runner watched it at the load
    // (the list it goes with is what this code loaded, and the runner's watch may have changed).
    expect(snapshots.loaded(later)).toBe(true);
    expect(snapshots.loaded(file)).toBe(false);
    const late = snapshots.take();
    expect([...late.keys()]).toEqual([later]);
    expect(unchangedSince(late, [later])).toBe(true);
    expect(snapshots.take().size).toBe(0);
  });
});
