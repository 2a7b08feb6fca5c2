/**
 * Damaged state at startup: a garbage or truncated nsqd.dat, a disk queue segment with a garbage or
 * torn record in the middle. The broker starts, says in its log which file it found damaged and what
 * it skipped or kept, and never drops an intact message because its neighbour is damaged; without a
 * readable nsqd.dat it rebuilds the topic and channel list from the queue file names (nsqd v1.3.0
 * refuses to start instead).
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodePub } from '../../protocol/commands.ts';
import { killAllChildBrokers, startChildBroker, type ChildBroker, type ChildBrokerOptions } from '../support/child-broker.ts';
import { BrokerHarness, httpRequest, uniqueName, waitFor } from './helpers/broker-harness.ts';

const harness = new BrokerHarness();
afterEach(async () => {
  await killAllChildBrokers();
  await harness.cleanup();
});

const bodies = Array.from({ length: 10 }, (_, i) => `m-${String(i).padStart(3, '0')}`);
/** Each record: [int32 length][8 ts][2 attempts][16 id][5-byte body]. */
const RECORD = 4 + 26 + 5;

async function post(http: string, path: string): Promise<void> {
  const res = await httpRequest(http, 'POST', path);
  expect(res.status, `${path}: ${res.text}`).toBe(200);
}

/** A broker with topic `topic` (channel c holding the ten bodies on disk, paused) and topic `lone` (no channel, two bodies). */
async function populated(options: ChildBrokerOptions, stop: 'clean' | 'kill'): Promise<{ dataPath: string; topic: string; lone: string }> {
  const dataPath = await harness.tempDir();
  const broker = await startChildBroker({ ...options, dataPath });
  const topic = uniqueName('t');
  const lone = uniqueName('lone');
  await post(broker.http, `/topic/create?topic=${topic}`);
  await post(broker.http, `/channel/create?topic=${topic}&channel=c`);
  await post(broker.http, `/channel/pause?topic=${topic}&channel=c`);
  const pub = await harness.connect(broker.tcp);
  for (const body of bodies) pub.send(encodePub(topic, Buffer.from(body)));
  pub.send(encodePub(lone, Buffer.from('lone-1')));
  pub.send(encodePub(lone, Buffer.from('lone-2')));
  for (let i = 0; i < bodies.length + 2; i++) await pub.expectResponse('OK');
  if (stop === 'clean') expect(await broker.stop()).toBe(0);
  else await broker.kill();
  return { dataPath, topic, lone };
}

async function drain(broker: ChildBroker, topic: string, channel: string, count: number, unpause = false): Promise<string[]> {
  if (unpause) await post(broker.http, `/channel/unpause?topic=${topic}&channel=${channel}`);
  const sub = await harness.subscriber(broker.tcp, topic, channel, 100);
  const got: string[] = [];
  for (let i = 0; i < count; i++) got.push((await sub.nextMessage(10_000)).body.toString());
  return got;
}

type LogLine = { msg: string; [key: string]: unknown };

/** The first line the broker logged (on a pipe that may lag its stdout) matching `pattern`. */
async function logLine(broker: ChildBroker, pattern: RegExp): Promise<LogLine> {
  return waitFor(
    () =>
      broker
        .stderr()
        .split('\n')
        .filter((line) => line.endsWith('}'))
        .map((line) => JSON.parse(line) as LogLine)
        .find((line) => pattern.test(line.msg)),
    `a log line matching ${pattern}`,
  );
}

describe('nsqd.dat damaged', () => {
  for (const [what, damage] of [
    ['garbage', (): string => '\u0000\u0001 not json at all {{{'],
    ['truncated', (text: string): string => text.slice(0, Math.floor(text.length / 2))],
  ] as const) {
    it(`${what}: the broker starts, keeps the file aside, rebuilds the topics and channels from the queue files`, async () => {
      const { dataPath, topic, lone } = await populated({ memQueueSize: 0 }, 'clean');
      const file = join(dataPath, 'nsqd.dat');
      writeFileSync(file, damage(readFileSync(file, 'utf8')));
      const broker = await startChildBroker({ dataPath, memQueueSize: 0 });
      expect(await logLine(broker, /^nsqd\.dat is unreadable/)).toMatchObject({ file, keptAs: expect.stringMatching(/nsqd\.dat\.\d+\.bad$/) });
      const rebuilt = await logLine(broker, /^topics and channels rebuilt/);
      expect(rebuilt).toMatchObject({ topics: [lone, topic].sort(), channels: [`${topic}:c`] });
      expect(rebuilt.msg).toMatch(/paused flags .* lost/);
      expect(readdirSync(dataPath).some((f) => /^nsqd\.dat\.\d+\.bad$/.test(f))).toBe(true);
      // Unpaused now (the flag was lost), every message is there.
      expect(await drain(broker, topic, 'c', 10)).toEqual(bodies);
      expect(await drain(broker, lone, 'first', 2)).toEqual(['lone-1', 'lone-2']);
      // A readable nsqd.dat was written again.
      expect(JSON.parse(readFileSync(file, 'utf8')).topics.map((t: { name: string }) => t.name).sort()).toEqual([lone, topic].sort());
    });
  }
});

describe('a damaged record in the middle of a segment', () => {
  const damages = {
    'garbage length': (data: Buffer, at: number) => data.writeUInt32BE(0xffffff00, at),
    'garbage payload': (data: Buffer, at: number) => data.fill(0x7f, at + 4, at + RECORD),
    'torn record (zeroed from the middle on)': (data: Buffer, at: number) => data.fill(0, at + 10, at + RECORD),
  };
  for (const [name, damage] of Object.entries(damages)) {
    for (const stop of ['clean', 'kill'] as const) {
      it(`${name}, after a ${stop === 'clean' ? 'clean stop' : 'kill -9 in sync mode'}: only the damaged message is skipped, and the log says where`, async () => {
        const options: ChildBrokerOptions = stop === 'clean' ? { memQueueSize: 0 } : { memQueueSize: 0, syncEvery: 1 };
        const { dataPath, topic } = await populated(options, stop);
        const file = join(dataPath, `${topic}:c.diskqueue.000000.dat`);
        const data = readFileSync(file);
        expect(data.length).toBe(10 * RECORD);
        damage(data, 4 * RECORD);
        writeFileSync(file, data);
        const broker = await startChildBroker({ ...options, dataPath });
        const expected = bodies.filter((_, i) => i !== 4);
        expect(await drain(broker, topic, 'c', expected.length, true)).toEqual(expected);
        expect(await logLine(broker, /damaged/)).toMatchObject({ file, damagedAt: 4 * RECORD });
      });
    }
  }
});
