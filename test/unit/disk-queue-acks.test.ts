/**
 * Sync mode's disk queue: the saved read position passes only acknowledged records (in order,
 * whatever order they are acknowledged in), files are deleted only once passed, and the group
 * commit makes a put durable with one fsync per turn. The deferred journal replays its last word
 * per message.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AckWindow } from '../../broker/nsqd/disk-queue-acks.ts';
import { DiskQueue } from '../../broker/nsqd/disk-queue.ts';
import { readMetadataFile, metaFileName, writeMetadataFile, dataFileName, formatMetadata } from '../../broker/nsqd/disk-queue-files.ts';
import { DeferredJournal } from '../../broker/nsqd/deferred-journal.ts';
import { GroupCommit } from '../../broker/nsqd/group-commit.ts';
import { BrokerMessage } from '../../broker/nsqd/message.ts';
import { deadlineNow } from '../../broker/nsqd/deadline-clock.ts';
import { takeDeferred, writeDeferred } from '../../broker/nsqd/metadata.ts';
import { readNext } from '../support/disk-queue-records.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dq-acks-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const record = (i: number): Buffer => Buffer.from(`record-${String(i).padStart(26, '0')}`);
const silent = { warn() {}, error() {} };

function open(commit: GroupCommit, maxBytesPerFile = 1 << 20): DiskQueue {
  return DiskQueue.open({
    name: 't:c',
    dataPath: dir,
    maxBytesPerFile,
    minMsgSize: 26,
    maxMsgSize: 1024,
    syncEvery: 1,
    syncTimeoutMs: 60_000,
    groupCommit: commit,
    ackReads: true,
  });
}

describe('AckWindow', () => {
  it('follows the longest acknowledged prefix, across growth', () => {
    const window = new AckWindow({ fileNum: 0, pos: 0 });
    const seqs = Array.from({ length: 200 }, (_, i) => window.push(0, (i + 1) * 10));
    expect(window.ack(seqs[1]!)).toBe(false);
    expect(window.durable).toEqual({ fileNum: 0, pos: 0 });
    expect(window.ack(seqs[0]!)).toBe(true);
    expect(window.durable).toEqual({ fileNum: 0, pos: 20 });
    for (const seq of seqs.slice(2, 199)) window.ack(seq);
    expect(window.durable.pos).toBe(1990);
    expect(window.size).toBe(1);
    expect(window.ack(seqs[0]!)).toBe(false);
  });
});

describe('DiskQueue in ack mode', () => {
  it('saves the read position only past acknowledged records; a reopen reads the rest again', () => {
    const commit = new GroupCommit();
    const q = open(commit);
    for (let i = 0; i < 4; i++) q.put(record(i));
    const seqs = [0, 1, 2].map(() => {
      readNext(q);
      return q.lastReadSeq;
    });
    q.ack(seqs[1]!);
    commit.commit();
    const size = 4 + record(0).length;
    // Nothing acknowledged in order yet: no position to save (puts alone need none: recovery scans).
    expect(readMetadataFile(metaFileName(dir, 't:c'))?.readPos ?? 0).toBe(0);
    q.ack(seqs[0]!);
    commit.commit();
    expect(readMetadataFile(metaFileName(dir, 't:c'))).toMatchObject({ depth: 2, readPos: 2 * size });
    expect(q.depth).toBe(1);
    expect(q.unacknowledged).toBe(1);
    // A crash now (no close): the reopened queue delivers record 2 (unacknowledged) and 3.
    const reopened = open(new GroupCommit());
    expect([readNext(reopened)?.toString(), readNext(reopened)?.toString()]).toEqual([record(2).toString(), record(3).toString()]);
    reopened.close();
    q.close();
  });

  it('keeps a finished file until the saved position has passed it', () => {
    const commit = new GroupCommit();
    const q = open(commit, 100);
    for (let i = 0; i < 6; i++) q.put(record(i));
    commit.commit();
    const seqs: number[] = [];
    for (let i = 0; i < 6; i++) {
      readNext(q);
      seqs.push(q.lastReadSeq);
    }
    commit.commit();
    expect(fs.readdirSync(dir).filter((f) => f.includes('.diskqueue.0'))).toHaveLength(3);
    for (const seq of seqs.slice(0, 2)) q.ack(seq);
    commit.commit();
    expect(fs.readdirSync(dir).filter((f) => f.includes('.diskqueue.0')).sort()).toEqual(['t:c.diskqueue.000001.dat', 't:c.diskqueue.000002.dat']);
    q.close();
  });

  it('group commit: many puts in a turn, one commit', async () => {
    const commit = new GroupCommit();
    const q = open(commit);
    for (let i = 0; i < 100; i++) q.put(record(i));
    expect(commit.pending).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect({ pending: commit.pending, commits: commit.commits }).toEqual({ pending: false, commits: 1 });
    q.close();
  });
});

describe('recovery after a roll whose metadata was lost', () => {
  it('adopts the data files past the saved write file', () => {
    const commit = new GroupCommit();
    const q = open(commit, 100);
    for (let i = 0; i < 5; i++) q.put(record(i));
    commit.commit();
    q.close();
    // As if power failed after the roll: the metadata still names file 0 as the write file.
    writeMetadataFile(metaFileName(dir, 't:c'), formatMetadata({ depth: 2, readFileNum: 0, readPos: 0, writeFileNum: 0, writePos: fs.statSync(dataFileName(dir, 't:c', 0)).size }));
    const reopened = open(new GroupCommit(), 100);
    expect(reopened.depth).toBe(5);
    const bodies = Array.from({ length: 5 }, () => readNext(reopened)?.toString());
    expect(bodies).toEqual([0, 1, 2, 3, 4].map((i) => record(i).toString()));
    reopened.close();
  });
});

describe('DeferredJournal', () => {
  it('replays the last record per message, whatever order they landed in', () => {
    const commit = new GroupCommit();
    const { journal } = DeferredJournal.open({ dataPath: dir, queueName: 't:c', groupCommit: commit, log: silent });
    const messages = ['0000000000000001', '0000000000000002', '0000000000000003'].map((id) => BrokerMessage.withId(id, 1, Buffer.from(`body ${id}`)));
    messages.forEach((m, i) => {
      m.dueAtMs = 1000 + i;
      journal.add(m);
    });
    journal.done(messages[1]!);
    // A DONE is written at commit; an ADD of the same message after it, at once: seq orders them.
    messages[1]!.dueAtMs = 5000;
    journal.add(messages[1]!);
    journal.done(messages[2]!);
    commit.commit();
    const { restored, journal: again } = DeferredJournal.open({ dataPath: dir, queueName: 't:c', groupCommit: new GroupCommit(), log: silent });
    expect(restored.map((r) => [r.message.id, r.dueAtMs, r.message.body.toString()]).sort()).toEqual([
      ['0000000000000001', 1000, 'body 0000000000000001'],
      ['0000000000000002', 5000, 'body 0000000000000002'],
    ]);
    again.close();
    journal.close();
  });

  it('stores due times as ms since the epoch, as does the clean-shutdown file, whatever the process clock', () => {
    const due = deadlineNow() + 60_000;
    const m = BrokerMessage.withId('0000000000000007', 1, Buffer.from('later'));
    m.dueAtMs = due;
    const commit = new GroupCommit();
    const { journal } = DeferredJournal.open({ dataPath: dir, queueName: 't:c', groupCommit: commit, log: silent });
    journal.add(m);
    commit.commit();
    journal.close();
    writeDeferred(dir, 't:d', [m]);
    // Another process reads these files: the due time in them is the wall clock's.
    const journalDue = fs.readFileSync(path.join(dir, 't:c.deferred.log')).readDoubleBE(8 + 9);
    const shutdownDue = fs.readFileSync(path.join(dir, 't:d.deferred.dat')).readDoubleBE(0);
    for (const stored of [journalDue, shutdownDue]) expect(Math.abs(stored - (Date.now() + 60_000))).toBeLessThan(5_000);
    expect(takeDeferred(dir, 't:d').map((entry) => entry.dueAtMs)).toEqual([due]);
  });

  it('keeps the whole records before a torn one, and says so', () => {
    const commit = new GroupCommit();
    const { journal } = DeferredJournal.open({ dataPath: dir, queueName: 't:c', groupCommit: commit, log: silent });
    const m = BrokerMessage.withId('0000000000000009', 1, Buffer.from('kept'));
    m.dueAtMs = 42;
    journal.add(m);
    commit.commit();
    journal.close();
    fs.appendFileSync(path.join(dir, 't:c.deferred.log'), Buffer.from([0, 0, 0, 40, 1, 2, 3]));
    const warnings: object[] = [];
    const { restored, journal: again } = DeferredJournal.open({
      dataPath: dir,
      queueName: 't:c',
      groupCommit: new GroupCommit(),
      log: { warn: (o) => warnings.push(o), error() {} },
    });
    expect(restored.map((r) => r.message.body.toString())).toEqual(['kept']);
    expect(warnings).toEqual([expect.objectContaining({ records: 1, skippedBytes: 7 })]);
    again.close();
  });
});
