import { describe, expect, it } from 'vitest';
import { RdyController, type RdyConnection } from '../../client/rdy.ts';

class FakeConnection implements RdyConnection {
  rdy = 0;
  rdyGrantedAt = 0;
  inFlight = 0;
  lastMessageAt = 0;
  readonly sent: number[] = [];
  constructor(
    readonly name: string,
    readonly maxRdyCount = 2500,
  ) {}
  sendRdy(count: number): void {
    this.sent.push(count);
  }
}

function setup(maxInFlight: number, count: number, clock = { now: 1000 }) {
  const rdy = new RdyController<FakeConnection>({
    maxInFlight,
    rotateAfterMs: 5000,
    lowRdyIdleTimeoutMs: 10_000,
    now: () => clock.now,
  });
  const connections = Array.from({ length: count }, (_, i) => new FakeConnection(`c${i}`));
  for (const c of connections) rdy.add(c);
  return { rdy, connections, clock };
}

function potential(connections: FakeConnection[]): number {
  return connections.reduce((sum, c) => sum + Math.max(c.rdy, c.inFlight), 0);
}

describe('RdyController', () => {
  it('gives go-nsq share floor(mif / n) to each connection', () => {
    const { connections } = setup(10, 3);
    expect(connections.map((c) => c.rdy)).toEqual([3, 3, 3]);
    for (const c of connections) expect(c.sent.at(-1)).toBe(3);
  });

  it('lowers existing connections before a new one takes its share, never over maxInFlight', () => {
    const { rdy, connections } = setup(4, 1);
    expect(connections[0]!.rdy).toBe(4);
    const added = new FakeConnection('new');
    rdy.add(added);
    expect(connections[0]!.rdy).toBe(2);
    expect(added.rdy).toBe(2);
    expect(rdy.totalRdy).toBeLessThanOrEqual(4);
  });

  it('never sends more than the server max_rdy_count', () => {
    const rdy = new RdyController<FakeConnection>({ maxInFlight: 1000, rotateAfterMs: 5000, lowRdyIdleTimeoutMs: 10_000 });
    const small = new FakeConnection('small', 50);
    rdy.add(small);
    expect(small.rdy).toBe(50);
  });

  it('waits for in-flight messages before raising a new connection past the budget', () => {
    const { rdy, connections } = setup(4, 1);
    const first = connections[0]!;
    first.inFlight = 4;
    const added = new FakeConnection('new');
    rdy.add(added);
    expect(first.rdy).toBe(2);
    expect(added.rdy).toBe(0);
    first.inFlight = 2;
    rdy.onMessageDone();
    expect(added.rdy).toBe(2);
    expect(potential([first, added])).toBeLessThanOrEqual(4);
  });

  it('setMaxInFlight raises and lowers at run time; 0 pauses', () => {
    const { rdy, connections } = setup(2, 2);
    expect(connections.map((c) => c.rdy)).toEqual([1, 1]);
    rdy.setMaxInFlight(10);
    expect(connections.map((c) => c.rdy)).toEqual([5, 5]);
    rdy.setMaxInFlight(0);
    expect(connections.map((c) => c.rdy)).toEqual([0, 0]);
  });

  it('with maxInFlight below the connection count, rotates RDY 1 so no connection starves', () => {
    const { rdy, connections, clock } = setup(1, 3);
    expect(rdy.rotating).toBe(true);
    expect(rdy.totalRdy).toBe(1);
    const served = new Set<string>();
    for (let tick = 0; tick < 6; tick++) {
      for (const c of connections) if (c.rdy > 0) served.add(c.name);
      // The holder keeps receiving messages; it must still give way after one interval.
      for (const c of connections) if (c.rdy > 0) c.lastMessageAt = clock.now;
      expect(potential(connections)).toBeLessThanOrEqual(1);
      clock.now += 5000;
      rdy.redistribute();
    }
    expect([...served].sort()).toEqual(['c0', 'c1', 'c2']);
  });

  it.each([
    [1, 2],
    [1, 3],
    [2, 3],
    [2, 5],
  ])('rotating maxInFlight %i over %i connections, each waits at most ceil(n / m) - 1 intervals, though ticks come a millisecond early', (maxInFlight, count) => {
    const { rdy, connections, clock } = setup(maxInFlight, count);
    const lastHeld = new Map(connections.map((c) => [c, clock.now]));
    let longest = 0;
    for (let tick = 1; tick <= 40; tick++) {
      // setInterval's ticks against Date.now(): now 4,999 ms apart, now 5,001.
      clock.now += tick % 2 === 0 ? 4999 : 5001;
      for (const c of connections) if (c.rdy > 0) c.lastMessageAt = clock.now;
      rdy.redistribute();
      expect(rdy.totalRdy).toBe(maxInFlight);
      for (const c of connections) {
        if (c.rdy > 0) lastHeld.set(c, clock.now);
        // Past the start (the first holders were granted between ticks), in whole intervals.
        else if (tick > 2) longest = Math.max(longest, Math.round((clock.now - lastHeld.get(c)!) / 5000));
      }
    }
    expect(longest).toBe(Math.ceil(count / maxInFlight) - 1);
  });

  it('rotating 2 slots over 3 connections, each holds two ticks in three, and a holder that keeps its slot is sent nothing', () => {
    const { rdy, connections, clock } = setup(2, 3);
    const held = new Map(connections.map((c) => [c, 0]));
    for (let tick = 1; tick <= 30; tick++) {
      clock.now += 5000;
      const sentBefore = connections.map((c) => c.sent.length);
      rdy.redistribute();
      // One command at most a tick: never RDY 0 then RDY 1 to the same connection.
      connections.forEach((c, i) => expect(c.sent.length - sentBefore[i]!, `${c.name} at tick ${tick}`).toBeLessThanOrEqual(1));
      for (const c of connections) if (c.rdy > 0) held.set(c, held.get(c)! + 1);
    }
    expect([...held.values()]).toEqual([20, 20, 20]);
  });

  it('rotation with maxInFlight 2 over 3 connections keeps the total at 2', () => {
    const { rdy, connections, clock } = setup(2, 3);
    const served = new Set<string>();
    for (let tick = 0; tick < 6; tick++) {
      expect(rdy.totalRdy).toBe(2);
      for (const c of connections) if (c.rdy > 0) served.add(c.name);
      clock.now += 5000;
      rdy.redistribute();
    }
    expect(served.size).toBe(3);
  });

  it('a revoked holder with a message in flight blocks the grant until the message is answered', () => {
    const { rdy, connections, clock } = setup(1, 2);
    const holder = connections.find((c) => c.rdy === 1)!;
    const other = connections.find((c) => c !== holder)!;
    holder.inFlight = 1;
    clock.now += 5000;
    rdy.redistribute();
    expect(holder.rdy).toBe(0);
    expect(other.rdy).toBe(0);
    holder.inFlight = 0;
    rdy.onMessageDone();
    expect(other.rdy).toBe(1);
  });

  it('paused mode sets RDY 0 everywhere, testing mode gives RDY 1 to one connection, normal restores shares', () => {
    const { rdy, connections } = setup(9, 3);
    rdy.setMode('paused');
    expect(connections.map((c) => c.rdy)).toEqual([0, 0, 0]);
    rdy.setMode('testing');
    expect(rdy.totalRdy).toBe(1);
    rdy.setMode('normal');
    expect(connections.map((c) => c.rdy)).toEqual([3, 3, 3]);
  });

  it('a removed connection gives its share back to the others', () => {
    const { rdy, connections } = setup(6, 3);
    rdy.remove(connections[0]!);
    expect(connections[1]!.rdy).toBe(3);
    expect(connections[2]!.rdy).toBe(3);
  });

  it('leaving rotation (a connection closed) returns to plain shares', () => {
    const { rdy, connections } = setup(2, 3);
    rdy.remove(connections[2]!);
    expect(rdy.rotating).toBe(false);
    expect(connections[0]!.rdy + connections[1]!.rdy).toBe(2);
    expect(connections[0]!.rdy).toBe(1);
  });
});
