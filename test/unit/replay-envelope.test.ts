import { describe, expect, it } from 'vitest';
import { readReplay } from '../../runner/worker/replay.ts';

const envelope = (fields: object): Buffer => Buffer.from(JSON.stringify({ __nsqworker_replay: { task: 'store', dead_letter_id: '0a1b', replayed_at: '2026-12-01T00:00:00.000Z' }, ...fields }));

describe('readReplay', () => {
  it('reads the task and the original body of an envelope, in utf8 or base64', () => {
    expect(readReplay(envelope({ body: '{"path":"/home"}', body_encoding: 'utf8' }))).toEqual({ task: 'store', body: Buffer.from('{"path":"/home"}') });
    expect(readReplay(envelope({ body: Buffer.from([0xff, 0x00]).toString('base64'), body_encoding: 'base64' }))).toEqual({ task: 'store', body: Buffer.from([0xff, 0x00]) });
  });

  it('passes over ordinary bodies, JSON or not, and bodies that only start like an envelope', () => {
    for (const body of ['', 'x', '{"a":1}', '{"_":1}', '{"__nsqworker":1}', ' {"__nsqworker_replay":{}}', '{"__nsqworker_replay":', '{"__nsqworker_replay":{"task":1},"body":"x"}']) {
      expect(readReplay(Buffer.from(body)), body).toBeUndefined();
    }
  });
});
