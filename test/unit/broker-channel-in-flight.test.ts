/**
 * The channel's in-flight bookkeeping (broker/nsqd/channel.ts) against a model: the table by id, each
 * subscriber's list in timeout order and the one deadline timer, under FIN, REQ, TOUCH, timeouts with
 * clients of different msg_timeout, subscribers leaving, empty and shutdown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Channel, Subscriber } from '../../broker/nsqd/channel.ts';
import { InFlightList } from '../../broker/nsqd/in-flight-list.ts';
import { BrokerMessage } from '../../broker/nsqd/message.ts';
import { Nsqd } from '../../broker/nsqd/nsqd.ts';
import { BrokerOptionsSchema } from '../../broker/nsqd/options.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { emptyMessageKey, keyOfText, type MessageKey } from '../../protocol/message-id-hex.ts';
import { seededRandom } from '../support/prng.ts';
import { RecordingLogger } from '../support/fuzz/fake-socket.ts';

/** An id as the channel takes it (FIN, REQ and TOUCH parse it so). */
const keyOf = (id: string): MessageKey => keyOfText(id, emptyMessageKey());

let nextId = 1;

class FakeSubscriber implements Subscriber {
  readonly id = nextId++;
  readonly inFlight = new InFlightList();
  messageCount = 0;
  finishCount = 0;
  requeueCount = 0;
  sampleRate = 0;
  readyCount = 0;
  received: BrokerMessage[] = [];
  receivedAt: number[] = [];
  onSend: ((message: BrokerMessage) => void) | undefined;
  constructor(readonly msgTimeoutMs: number) {}
  isReady(): boolean {
    return this.inFlight.size < this.readyCount;
  }
  sendMessage(message: BrokerMessage): void {
    this.received.push(message);
    this.receivedAt.push(Date.now());
    this.onSend?.(message);
  }
  closeForDelete(): void {}
}

let dataPath: string;
let nsqd: Nsqd;
let counter = 0;

function newChannel(): Channel {
  return nsqd.getOrCreateTopic(`t${counter++}`).getOrCreateChannel('c');
}

function message(n: number): BrokerMessage {
  return BrokerMessage.withId(n.toString(16).padStart(16, '0'), 0, Buffer.from(`m${n}`));
}

beforeEach(() => {
  dataPath = mkdtempSync(join(tmpdir(), 'channel-in-flight-'));
  nsqd = new Nsqd(BrokerOptionsSchema.parse({ dataPath, maxMsgTimeoutMs: 10_000 }), new RecordingLogger() as unknown as Logger);
  nsqd.load();
});

afterEach(() => {
  // The deadline clock forgets its value in a microtask: run the fake one before it is dropped.
  if (vi.isFakeTimers()) vi.runAllTicks();
  vi.useRealTimers();
  nsqd.persistAndClose();
  rmSync(dataPath, { recursive: true, force: true });
});

describe('Channel in flight', () => {
  it('finds a message by its id as nsqd does, byte for byte: a hex id by its halves, any other by its text', () => {
    const channel = newChannel();
    const subscriber = new FakeSubscriber(60_000);
    subscriber.readyCount = 4;
    channel.addSubscriber(subscriber);
    // A record the broker did not write may hold any 16 bytes: uppercase hex, or none at all.
    for (const id of ['abcdef0123456789', 'ABCDEF0123456789', 'zz\u00ff\u0000000000000000', 'ffffffff00000000']) channel.put(BrokerMessage.withId(id, 0, Buffer.from(id)));
    expect(subscriber.received.map((each) => each.id)).toEqual(['abcdef0123456789', 'ABCDEF0123456789', 'zz\u00ff\u0000000000000000', 'ffffffff00000000']);
    expect(subscriber.received.map((each) => each.idText)).toEqual([undefined, 'ABCDEF0123456789', 'zz\u00ff\u0000000000000000', undefined]);
    expect(() => channel.finish(subscriber, keyOf('ABCDEF0123456789'.toLowerCase().replace('a', 'A')))).toThrow('FIN Abcdef0123456789 failed ID not in flight');
    expect(() => channel.touch(subscriber, keyOf('FFFFFFFF00000000'))).toThrow('TOUCH FFFFFFFF00000000 failed ID not in flight');
    channel.finish(subscriber, keyOf('ABCDEF0123456789'));
    channel.finish(subscriber, keyOf('zz\u00ff\u0000000000000000'));
    channel.requeue(subscriber, keyOf('ffffffff00000000'), 0);
    expect(() => channel.finish(subscriber, keyOf('ABCDEF0123456789'))).toThrow('FIN ABCDEF0123456789 failed ID not in flight');
    channel.finish(subscriber, keyOf('abcdef0123456789'));
    expect(subscriber.received.map((each) => each.id).slice(4)).toEqual(['ffffffff00000000']);
    expect(channel.inFlightCount).toBe(1);
  });

  it('puts a message back when its subscriber leaves while the message is being sent to it', () => {
    // A connection can close inside its own send: a flush that reaches the group commit, whose
    // failed fsync drops every connection waiting for an OK (client-connection.ts, commitFailed).
    const channel = newChannel();
    const leaving = new FakeSubscriber(60_000);
    leaving.readyCount = 1;
    leaving.onSend = () => channel.removeSubscriber(leaving);
    channel.addSubscriber(leaving);
    channel.put(message(1));
    expect(leaving.received.length).toBe(1);
    expect(channel.subscribers).not.toContain(leaving);
    expect({ inFlight: channel.inFlightCount, depth: channel.depth, held: leaving.inFlight.size }).toEqual({ inFlight: 0, depth: 1, held: 0 });
    // And another subscriber gets it.
    const staying = new FakeSubscriber(60_000);
    staying.readyCount = 1;
    channel.addSubscriber(staying);
    channel.pump();
    expect(staying.received.map((each) => each.id)).toEqual([message(1).id]);
  });

  it('a message requeued, with a delay or at once, stops keeping a much larger shared buffer alive', () => {
    // As an MPUB's messages share its frame: a 6-byte body beside a 1 MiB one; and as a PUB's body
    // is a view of its 64 KiB socket read.
    const frame = Buffer.concat([Buffer.from('small!'), Buffer.alloc(1 << 20, 0x62)]);
    const socketRead = Buffer.concat([Buffer.from('pub!'), Buffer.alloc(65_532)]);
    const channel = newChannel();
    const subscriber = new FakeSubscriber(60_000);
    subscriber.readyCount = 3;
    channel.addSubscriber(subscriber);
    channel.put(BrokerMessage.withId('0000000000000001', 0, frame, 0, 0, 6));
    channel.put(BrokerMessage.withId('0000000000000002', 0, frame, 0, 0, 6));
    channel.put(BrokerMessage.withId('0000000000000003', 0, socketRead.subarray(0, 4)));
    const [later, now, pub] = subscriber.received;
    channel.requeue(subscriber, keyOf(later!.id), 60_000);
    channel.requeue(subscriber, keyOf(now!.id), 0);
    channel.requeue(subscriber, keyOf(pub!.id), 60_000);
    const kept = (message: BrokerMessage): { body: string; bytesKept: number } => ({ body: message.body.toString(), bytesKept: message.source.buffer.byteLength });
    // At once too: a message requeued again and again would otherwise keep its frame (or a memory
    // queue's slab) alive for as long.
    expect([kept(later!), kept(now!), kept(pub!)]).toEqual([
      { body: 'small!', bytesKept: 6 },
      { body: 'small!', bytesKept: 6 },
      { body: 'pub!', bytesKept: 4 },
    ]);
    expect(channel.deferredCount).toBe(2);
  });

  it.each([7, 8, 9, 10, 11, 12])('keeps the table, the lists and the timeouts in step under random FIN, REQ, TOUCH, leaving, empty and time (seed %i)', (seed) => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'queueMicrotask'] });
    const random = seededRandom(seed);
    const int = (n: number): number => Math.floor(random() * n);
    const channel = newChannel();
    const subscribers: FakeSubscriber[] = [];
    const join = (): void => {
      const subscriber = new FakeSubscriber([1000, 2500, 5000, 9000][int(4)]!);
      subscriber.readyCount = 1 + int(5);
      subscribers.push(subscriber);
      channel.addSubscriber(subscriber);
    };
    for (let i = 0; i < 3; i++) join();
    /** Model: id → { owner, dueAt (ms on the fake clock), deliveredAt }. */
    const model = new Map<string, { owner: FakeSubscriber; dueAt: number; deliveredAt: number; message: BrokerMessage }>();
    const seen = new Map<FakeSubscriber, number>();
    const sync = (): void => {
      // Record deliveries the channel made since the last look.
      for (const subscriber of subscribers) {
        const from = seen.get(subscriber) ?? 0;
        for (let i = from; i < subscriber.received.length; i++) {
          const delivered = subscriber.received[i]!;
          const at = subscriber.receivedAt[i]!;
          // Delivered and timed out again while time passed: no longer in flight.
          if (at + subscriber.msgTimeoutMs <= Date.now()) continue;
          model.set(delivered.id, { owner: subscriber, dueAt: at + subscriber.msgTimeoutMs, deliveredAt: at, message: delivered });
        }
        seen.set(subscriber, subscriber.received.length);
      }
    };
    const check = (step: number): void => {
      const where = `step ${step}`;
      expect(channel.inFlightCount, where).toBe(model.size);
      const inTable = new Set([...channel.inFlightMessages()].map((each) => each.id));
      expect([...inTable].sort(), where).toEqual([...model.keys()].sort());
      for (const subscriber of subscribers) {
        const held = [...model.values()].filter((each) => each.owner === subscriber).length;
        expect(subscriber.inFlight.size, where).toBe(held);
      }
    };
    let published = 0;
    for (let step = 0; step < 3000; step++) {
      // Each step a task of its own: the deadline clock is read anew (it keeps one value per task).
      vi.runAllTicks();
      const op = int(10);
      const inFlight = [...model.keys()];
      const pick = inFlight[int(inFlight.length)];
      if (op <= 2) {
        channel.put(message(++published));
      } else if (op === 3 && pick !== undefined) {
        const entry = model.get(pick)!;
        model.delete(pick);
        channel.finish(entry.owner, keyOf(pick));
      } else if (op === 4 && pick !== undefined) {
        const entry = model.get(pick)!;
        model.delete(pick);
        channel.requeue(entry.owner, keyOf(pick), int(2) === 0 ? 0 : int(3000));
      } else if (op === 5 && pick !== undefined) {
        const entry = model.get(pick)!;
        channel.touch(entry.owner, keyOf(pick));
        entry.dueAt = Math.min(Date.now() + entry.owner.msgTimeoutMs, entry.deliveredAt + 10_000);
      } else if (op === 6 && pick !== undefined) {
        // Someone else's, or twice: refused, nothing changes.
        const entry = model.get(pick)!;
        const other = subscribers.find((each) => each !== entry.owner);
        if (other !== undefined) expect(() => channel.finish(other, keyOf(pick))).toThrow(ProtocolError);
        expect(() => channel.touch(entry.owner, keyOf('ffffffffffffffff'))).toThrow(/not in flight/);
      } else if (op === 7) {
        // Time passes; whatever is overdue must have timed out, and only that.
        vi.advanceTimersByTime(int(3000));
        const now = Date.now();
        for (const [id, entry] of model) if (entry.dueAt <= now) model.delete(id);
      } else if (op === 8 && int(10) === 0 && subscribers.length > 1) {
        const leaving = subscribers.splice(int(subscribers.length), 1)[0]!;
        channel.removeSubscriber(leaving);
        for (const [id, entry] of model) if (entry.owner === leaving) model.delete(id);
        join();
      } else if (op === 8 && int(30) === 0) {
        channel.empty();
        model.clear();
        for (const subscriber of subscribers) expect(subscriber.inFlight.size).toBe(0);
      } else if (op === 9) {
        const subscriber = subscribers[int(subscribers.length)]!;
        subscriber.readyCount = int(6);
        channel.pump();
      }
      sync();
      check(step);
    }
    // A clean shutdown hands every message in flight to the queue's files: none is left behind.
    channel.closeForShutdown();
    expect(channel.inFlightCount).toBe(0);
    for (const subscriber of subscribers) expect(subscriber.inFlight.size).toBe(0);
  });
});
