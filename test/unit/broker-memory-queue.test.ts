/**
 * The backlog's memory queue (broker/nsqd/memory-queue.ts): records and objects in one order across
 * slabs, bodies copied out of their frames, slab sizes; and the topic's MPUB handing records to the
 * channels that queue and objects to those with a ready subscriber (broker/nsqd/topic.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Subscriber } from '../../broker/nsqd/channel.ts';
import { InFlightList } from '../../broker/nsqd/in-flight-list.ts';
import { MemoryQueue } from '../../broker/nsqd/memory-queue.ts';
import { BrokerMessage } from '../../broker/nsqd/message.ts';
import { Nsqd } from '../../broker/nsqd/nsqd.ts';
import { BrokerOptionsSchema } from '../../broker/nsqd/options.ts';
import { MESSAGE_HEADER_SIZE, writeMessageHeader } from '../../protocol/message.ts';
import { seededRandom } from '../support/prng.ts';
import { RecordingLogger } from '../support/fuzz/fake-socket.ts';

const idOf = (n: number): string => n.toString(16).padStart(16, '0');

function header(n: number, attempts = 0): Buffer {
  const out = Buffer.alloc(MESSAGE_HEADER_SIZE);
  writeMessageHeader(out, 0, 1_700_000_000_000_000_000 + n * 1000, attempts, idOf(n));
  return out;
}

/** Message `n`'s body: `n` and some filler, `size` bytes. */
function body(n: number, size: number): Buffer {
  const out = Buffer.alloc(size, 0x61 + (n % 26));
  out.write(String(n));
  return out;
}

interface Seen {
  id: string;
  timestampNs: number;
  attempts: number;
  body: string;
}

const seen = (message: BrokerMessage): Seen => ({ id: message.id, timestampNs: message.timestampNs, attempts: message.attempts, body: message.body.toString() });

describe('MemoryQueue', () => {
  it('keeps records and objects in one order across many slabs, each record as it was pushed', () => {
    const random = seededRandom(3);
    const queue = new MemoryQueue();
    const expected: Seen[] = [];
    const shifted: Seen[] = [];
    for (let n = 0; n < 20_000; n++) {
      const size = Math.floor(random() * 3000);
      if (random() < 0.2) {
        const message = BrokerMessage.withId(idOf(n), n, body(n, size), 2);
        queue.pushMessage(message);
        expected.push(seen(message));
      } else {
        // The body in the middle of a larger frame, as an MPUB's.
        const frame = Buffer.concat([Buffer.alloc(7), body(n, size), Buffer.alloc(5)]);
        queue.pushRecord(header(n, 1), frame, 7, 7 + size);
        expected.push({ id: idOf(n), timestampNs: 1_700_000_000_000_000_000 + n * 1000, attempts: 1, body: body(n, size).toString() });
      }
      // Shift now and then, so reading and writing meet in the same slab and pass slab ends.
      if (random() < 0.3) shifted.push(seen(queue.shift()!));
    }
    expect(queue.length).toBe(expected.length - shifted.length);
    for (let message = queue.shift(); message !== undefined; message = queue.shift()) shifted.push(seen(message));
    expect(shifted).toEqual(expected);
    expect(queue.length).toBe(0);
  });

  it('copies a record out of its frame: the frame can change or go', () => {
    const queue = new MemoryQueue();
    const frame = Buffer.from('xxhelloyy');
    queue.pushRecord(header(1), frame, 2, 7);
    frame.fill(0);
    const message = queue.shift()!;
    expect(message.body.toString()).toBe('hello');
    expect(message.source.buffer).not.toBe(frame.buffer);
  });

  it('keeps a record larger than 64 KiB as an object over its frame', () => {
    const queue = new MemoryQueue();
    const frame = Buffer.alloc(200_000, 0x62);
    queue.pushRecord(header(1), frame, 10, 100_010);
    const message = queue.shift()!;
    expect({ id: message.id, length: message.bodyLength, sameFrame: message.source === frame }).toEqual({ id: idOf(1), length: 100_000, sameFrame: true });
  });

  it('grows its slabs with it, up to 1 MiB, and starts small again once emptied', () => {
    const queue = new MemoryQueue();
    const frame = Buffer.alloc(200, 0x63);
    for (let n = 0; n < 20_000; n++) queue.pushRecord(header(n), frame, 0, 200);
    const slabSizes = new Set<number>();
    let last: BrokerMessage | undefined;
    for (let message = queue.shift(); message !== undefined; message = queue.shift()) {
      slabSizes.add(message.source.length);
      last = message;
    }
    // Each new slab twice what waits then.
    expect([...slabSizes]).toEqual([4096, 8192, 32_768, 131_072, 524_288, 1_048_576]);
    expect(last!.source.length).toBe(1 << 20);
    // A large slab kept after emptying would stay alive for every message of a trickle.
    queue.pushRecord(header(1), frame, 0, 200);
    expect(queue.shift()!.source.length).toBe(4096);
  });

  it('keeps no slab once emptied by an object, after a large slab', () => {
    const queue = new MemoryQueue();
    const frame = Buffer.alloc(200, 0x63);
    for (let n = 0; n < 5000; n++) queue.pushRecord(header(n), frame, 0, 200);
    queue.pushMessage(BrokerMessage.withId(idOf(9999), 0, Buffer.from('requeued')));
    while (queue.length > 1) queue.shift();
    expect(queue.shift()!.body.toString()).toBe('requeued');
    // Internals, as no public view shows what the queue still refers to.
    const held = queue as unknown as { takenSlab: Buffer | undefined; writeSlab: Buffer | undefined };
    expect({ taken: held.takenSlab, written: held.writeSlab }).toEqual({ taken: undefined, written: undefined });
  });

  it('drains records as bytes and objects as themselves, in order, and is empty after', () => {
    const queue = new MemoryQueue();
    const object = BrokerMessage.withId(idOf(2), 0, Buffer.from('object'));
    queue.pushRecord(header(1), Buffer.from('--first--'), 2, 7);
    queue.pushMessage(object);
    queue.pushRecord(header(3), Buffer.from('third'), 0, 5);
    const drained: string[] = [];
    queue.drain(
      (slab, start, end) => drained.push(`record ${slab.toString('latin1', start + 10, start + MESSAGE_HEADER_SIZE)} ${slab.toString('utf8', start + MESSAGE_HEADER_SIZE, end)}`),
      (message) => drained.push(`object ${message.id} ${message === object}`),
    );
    expect(drained).toEqual([`record ${idOf(1)} first`, `object ${idOf(2)} true`, `record ${idOf(3)} third`]);
    expect({ length: queue.length, shifted: queue.shift() }).toEqual({ length: 0, shifted: undefined });
  });

  it('clear drops everything, and the queue works on after', () => {
    const queue = new MemoryQueue();
    for (let n = 0; n < 1000; n++) queue.pushRecord(header(n), body(n, 100), 0, 100);
    queue.pushMessage(BrokerMessage.withId(idOf(5000), 0, Buffer.from('object')));
    queue.clear();
    expect({ length: queue.length, shifted: queue.shift() }).toEqual({ length: 0, shifted: undefined });
    queue.pushMessage(BrokerMessage.withId(idOf(7), 0, Buffer.from('after')));
    queue.pushRecord(header(8), Buffer.from('record'), 0, 6);
    expect([queue.shift()!.body.toString(), queue.shift()!.body.toString()]).toEqual(['after', 'record']);
  });
});

class ReadySubscriber implements Subscriber {
  private static nextId = 1;
  readonly id = ReadySubscriber.nextId++;
  readonly inFlight = new InFlightList();
  readonly msgTimeoutMs = 60_000;
  messageCount = 0;
  finishCount = 0;
  requeueCount = 0;
  sampleRate = 0;
  received: BrokerMessage[] = [];
  constructor(public readyCount: number) {}
  isReady(): boolean {
    return this.inFlight.size < this.readyCount;
  }
  sendMessage(message: BrokerMessage): void {
    this.received.push(message);
  }
  closeForDelete(): void {}
}

describe('Topic.publishAll, records and objects', () => {
  let dataPath: string;
  let nsqd: Nsqd;

  beforeEach(() => {
    dataPath = mkdtempSync(join(tmpdir(), 'memory-queue-'));
    nsqd = new Nsqd(BrokerOptionsSchema.parse({ dataPath, memQueueSize: 4 }), new RecordingLogger() as unknown as Logger);
    nsqd.load();
  });

  afterEach(() => {
    nsqd.persistAndClose();
    rmSync(dataPath, { recursive: true, force: true });
  });

  /** An MPUB frame of `count` bodies `m0`, `m1`, ..., each after its 4-byte size, and their ranges. */
  function mpub(count: number): { frame: Buffer; ranges: number[] } {
    const parts: Buffer[] = [];
    const ranges: number[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      const each = Buffer.from(`m${i}`);
      const size = Buffer.alloc(4);
      size.writeUInt32BE(each.length);
      parts.push(size, each);
      ranges.push(at + 4, at + 4 + each.length);
      at += 4 + each.length;
    }
    return { frame: Buffer.concat(parts), ranges };
  }

  it('delivers to a ready subscriber at once, queues the rest behind in order, and past mem-queue-size on disk', () => {
    const topic = nsqd.getOrCreateTopic('t');
    const busy = topic.getOrCreateChannel('busy');
    const idle = topic.getOrCreateChannel('idle');
    const subscriber = new ReadySubscriber(3);
    busy.addSubscriber(subscriber);
    const { frame, ranges } = mpub(10);
    topic.publishAll(frame, ranges);
    expect(subscriber.received.map((message) => message.body.toString())).toEqual(['m0', 'm1', 'm2']);
    // The objects delivered at once point into the frame; the messages that wait were copied.
    expect(subscriber.received[0]!.source).toBe(frame);
    expect({ busy: [busy.depth, busy.backlog.backendDepth], idle: [idle.depth, idle.backlog.backendDepth] }).toEqual({ busy: [7, 3], idle: [10, 6] });
    expect({ topic: topic.messageCount, busy: busy.messageCount, idle: idle.messageCount }).toEqual({ topic: 10, busy: 10, idle: 10 });

    subscriber.readyCount = 100;
    busy.pump();
    const late = new ReadySubscriber(100);
    idle.addSubscriber(late);
    idle.pump();
    const bodies = Array.from({ length: 10 }, (_, i) => `m${i}`);
    expect(subscriber.received.map((message) => message.body.toString())).toEqual(bodies);
    expect(late.received.map((message) => message.body.toString())).toEqual(bodies);
    // What waited was copied out of the frame (into the memory queue's slab, or to disk and back).
    expect(late.received.filter((message) => message.source === frame)).toEqual([]);
    // One id per message, the same in both channels, increasing.
    const ids = subscriber.received.map((message) => message.id);
    expect(late.received.map((message) => message.id)).toEqual(ids);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(10);
    expect(new Set(late.received.map((message) => message.timestampNs)).size).toBe(1);
  });

  it('with several channels, copies small bodies into each and lets larger ones share their frame', () => {
    const topic = nsqd.getOrCreateTopic('fan-out');
    const channels = [topic.getOrCreateChannel('a'), topic.getOrCreateChannel('b')];
    const small = Buffer.alloc(512, 0x73);
    const large = Buffer.alloc(513, 0x6c);
    const frame = Buffer.concat([small, large]);
    topic.publishAll(frame, [0, 512, 512, 1025]);
    for (const channel of channels) {
      const subscriber = new ReadySubscriber(10);
      channel.addSubscriber(subscriber);
      channel.pump();
      expect(subscriber.received.map((message) => [message.bodyLength, message.source === frame])).toEqual([
        [512, false],
        [513, true],
      ]);
    }
  });
});
