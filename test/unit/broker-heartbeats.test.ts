/**
 * The broker's heartbeat wheel on a fake clock: a heartbeat every interval from the (re)start, a
 * client closed two intervals after its last read and not before, cancelled entries silent, no
 * burst after a stall, and no timer left once no client has heartbeats.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatWheel, TICK_MS, type HeartbeatClient } from '../../broker/nsqd/heartbeats.ts';

const START = Date.UTC(2025, 0, 1);

class Client implements HeartbeatClient {
  lastReadAtMs = Date.now();
  readonly beats: number[] = [];
  closedAt: number | undefined;
  /** Answer each heartbeat with a NOP, as a well-behaved client does. */
  constructor(private readonly answers = true) {}
  sendHeartbeat(): void {
    this.beats.push(Date.now() - START);
    if (this.answers) this.lastReadAtMs = Date.now();
  }
  missedHeartbeats(): void {
    this.closedAt = Date.now() - START;
  }
}

beforeEach(() => {
  vi.useFakeTimers({ now: START });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('HeartbeatWheel', () => {
  it('beats every interval from the start, to within a tick, and keeps a client that answers', () => {
    const wheel = new HeartbeatWheel();
    const client = new Client();
    wheel.schedule(client, 1000);
    vi.advanceTimersByTime(5000);
    expect(client.beats).toHaveLength(5);
    client.beats.forEach((at, i) => expect(at - (i + 1) * 1000).toBeGreaterThanOrEqual(0));
    client.beats.forEach((at, i) => expect(at - (i + 1) * 1000).toBeLessThanOrEqual(TICK_MS));
    expect(client.closedAt).toBeUndefined();
  });

  it('closes a silent client two intervals after its last read, with one heartbeat before', () => {
    const wheel = new HeartbeatWheel();
    const client = new Client(false);
    wheel.schedule(client, 1000);
    vi.advanceTimersByTime(5000);
    expect(client.beats).toEqual([1000]);
    expect(client.closedAt).toBeGreaterThanOrEqual(2000);
    expect(client.closedAt).toBeLessThanOrEqual(2000 + TICK_MS);
    expect(wheel.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('moves the read deadline with every read, with no rescheduling per read', () => {
    const wheel = new HeartbeatWheel();
    const client = new Client(false);
    wheel.schedule(client, 1000);
    vi.advanceTimersByTime(1700);
    client.lastReadAtMs = Date.now(); // a PUB at 1.7 s: the deadline is now 3.7 s
    vi.advanceTimersByTime(1900);
    expect(client.closedAt).toBeUndefined();
    vi.advanceTimersByTime(200);
    expect(client.closedAt).toBeGreaterThanOrEqual(3700);
    expect(client.closedAt).toBeLessThanOrEqual(3700 + TICK_MS);
    expect(client.beats).toEqual([1000, 2000, 3000]);
  });

  it('keeps each client on its own interval and phase', () => {
    const wheel = new HeartbeatWheel();
    const a = new Client();
    const b = new Client();
    wheel.schedule(a, 1000);
    vi.advanceTimersByTime(330);
    wheel.schedule(b, 2500);
    vi.advanceTimersByTime(6000);
    const lateness = (beats: number[], first: number, interval: number): number[] => beats.map((at, i) => at - (first + i * interval));
    expect(a.beats).toHaveLength(6);
    expect(b.beats).toHaveLength(2);
    for (const late of [...lateness(a.beats, 1000, 1000), ...lateness(b.beats, 2830, 2500)]) {
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThanOrEqual(TICK_MS);
    }
  });

  it('stops a cancelled entry (a new IDENTIFY, a close) and its timer once no client is left', () => {
    const wheel = new HeartbeatWheel();
    const client = new Client();
    const entry = wheel.schedule(client, 1000);
    vi.advanceTimersByTime(1500);
    wheel.cancel(entry);
    wheel.cancel(entry);
    expect(vi.getTimerCount()).toBe(0);
    // The entry waits in its slot until the wheel passes it, without keeping the closed client alive.
    expect(entry.client).not.toBe(client);
    const again = wheel.schedule(client, 2000);
    vi.advanceTimersByTime(4500);
    expect(client.beats).toEqual([1000, 3500, 5500]);
    wheel.cancel(again);
    expect(wheel.size).toBe(0);
  });

  it('after a stall, keeps a client whose answer was waiting unread when its deadline passed', () => {
    const wheel = new HeartbeatWheel();
    const client = new Client(false);
    wheel.schedule(client, 1000);
    vi.advanceTimersByTime(1000);
    // Blocked for 2.5 s: the deadline (2 s) has passed when the next tick runs, before the poll.
    vi.setSystemTime(START + 3500);
    vi.advanceTimersToNextTimer(); // the tick
    client.lastReadAtMs = Date.now(); // the poll reads the NOP that came meanwhile
    vi.advanceTimersToNextTimer(); // the check after the poll
    expect(client.closedAt).toBeUndefined();
    vi.advanceTimersByTime(1000 + TICK_MS);
    expect(client.beats.length).toBe(3);
  });

  it('drops the beats a stalled event loop could not send, as Go\'s ticker does', () => {
    const wheel = new HeartbeatWheel();
    const client = new Client();
    wheel.schedule(client, 1000);
    vi.advanceTimersByTime(1000);
    // The loop is blocked for 4.5 s (the clock moves, no timer runs), and the client kept sending.
    vi.setSystemTime(START + 5500);
    client.lastReadAtMs = Date.now();
    vi.advanceTimersByTime(TICK_MS);
    expect(client.beats.length).toBe(2);
    vi.advanceTimersByTime(1000);
    expect(client.beats.length).toBe(3);
    expect(client.beats[2]! - client.beats[1]!).toBeGreaterThanOrEqual(1000 - TICK_MS);
    expect(client.closedAt).toBeUndefined();
  });
});
