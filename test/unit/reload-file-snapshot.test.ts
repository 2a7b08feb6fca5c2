/**
 * File snapshots of --watch: a file untouched since its snapshot is unchanged; new content, a new
 * modification time with the same content, a deletion, or a file with no snapshot is a change.
 */
import { mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sameSnapshots, snapshotFiles, unchangedSince } from '../../runner/reload/file-snapshot.ts';

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
});
