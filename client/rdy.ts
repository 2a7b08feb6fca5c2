/**
 * RDY management over a consumer's connections.
 *
 * nsqd treats RDY as a window: a connection may hold up to RDY unanswered messages. The invariant
 * kept here is that the sum over connections of max(RDY, in flight) never exceeds the limit (the
 * consumer's maxInFlight; 0 while a backoff wait runs; 1 while backoff tests the waters), and no
 * connection is sent more than its server's max_rdy_count.
 *
 * When the limit is at least the number of connections, each gets go-nsq's share,
 * `min(max(1, floor(limit / n)), limit)`. When it is smaller, RDY 1 rotates: each tick, holders
 * that have held it since the tick before (or had no message for the idle timeout) give it up, and
 * the connections that waited longest get it, so every nsqd's messages are consumed: with n
 * connections and a limit of m, each waits at most ceil(n / m) - 1 intervals for its turn once
 * rotating (up to one more at the start, when the first holders were granted between ticks).
 */

/**
 * The longest a message may wait at an nsqd for its connection's turn while RDY rotates over
 * `connections` with a limit of `maxInFlight`, in ms: ceil(n / m) intervals, which covers the start
 * (see above).
 */
export function rotationWaitMs(connections: number, maxInFlight: number, intervalMs: number): number {
  return Math.ceil(connections / maxInFlight) * intervalMs;
}

export interface RdyConnection {
  /** The server's max_rdy_count. */
  readonly maxRdyCount: number;
  /** Messages received and not yet answered (kept by the consumer). */
  readonly inFlight: number;
  /** When the last message arrived (ms, kept by the consumer). */
  readonly lastMessageAt: number;
  /** The last RDY sent (kept by the controller). */
  rdy: number;
  /** When RDY last went from 0 to more (kept by the controller). */
  rdyGrantedAt: number;
  /** Writes `RDY count`. */
  sendRdy(count: number): void;
}

export interface RdyControllerOptions {
  maxInFlight: number;
  /** How long a connection holds a rotating RDY 1 before others get a turn (the redistribute interval). */
  rotateAfterMs: number;
  /** A holder with no message for this long gives its RDY up at the next tick. */
  lowRdyIdleTimeoutMs: number;
  now?: () => number;
}

export type RdyMode = 'normal' | 'paused' | 'testing';

export class RdyController<C extends RdyConnection = RdyConnection> {
  readonly connections: C[] = [];
  private maxInFlightValue: number;
  private mode: RdyMode = 'normal';
  /** Set when some connection is below its target because in-flight messages hold the budget. */
  private deficit = false;
  private readonly now: () => number;

  constructor(private readonly options: RdyControllerOptions) {
    this.maxInFlightValue = options.maxInFlight;
    this.now = options.now ?? Date.now;
  }

  get maxInFlight(): number {
    return this.maxInFlightValue;
  }

  /** The current total budget. */
  get limit(): number {
    if (this.mode === 'paused') return 0;
    if (this.mode === 'testing') return Math.min(1, this.maxInFlightValue);
    return this.maxInFlightValue;
  }

  /** True when there are more connections than budget, so RDY 1 has to rotate. */
  get rotating(): boolean {
    return this.limit < this.connections.length && this.limit > 0;
  }

  get totalRdy(): number {
    let total = 0;
    for (const c of this.connections) total += c.rdy;
    return total;
  }

  add(connection: C): void {
    connection.rdy = 0;
    this.connections.push(connection);
    this.rebalance();
  }

  remove(connection: C): void {
    const index = this.connections.indexOf(connection);
    if (index < 0) return;
    this.connections.splice(index, 1);
    connection.rdy = 0;
    this.rebalance();
  }

  setMaxInFlight(maxInFlight: number): void {
    this.maxInFlightValue = maxInFlight;
    this.rebalance();
  }

  setMode(mode: RdyMode): void {
    this.mode = mode;
    this.rebalance();
  }

  /** A message on `connection` was answered: budget held by in-flight messages may be free again. */
  onMessageDone(): void {
    if (this.deficit) this.rebalance();
  }

  /** Sets every connection's RDY to what the mode and limit call for. */
  rebalance(): void {
    const limit = this.limit;
    const n = this.connections.length;
    this.deficit = false;
    if (n === 0) return;
    if (limit >= n) {
      const share = Math.min(Math.max(1, Math.floor(limit / n)), limit);
      // Lower first so the budget freed is there for the raises.
      for (const c of this.connections) {
        const target = Math.min(share, c.maxRdyCount);
        if (c.rdy > target) this.send(c, target);
      }
      for (const c of this.connections) {
        const target = Math.min(share, c.maxRdyCount);
        if (c.rdy < target) this.raise(c, target, limit);
      }
      return;
    }
    // Fewer slots than connections: keep the holders that fit, then hand out what is left.
    let used = 0;
    for (const c of this.connections) {
      if (c.rdy > 1) this.send(c, 1);
      if (c.rdy > 0) {
        if (used + Math.max(1, c.inFlight) > limit) this.send(c, 0);
        else used += Math.max(1, c.inFlight);
      }
    }
    this.grantWaiting(limit);
  }

  /**
   * The periodic pass while rotating: the holders that held RDY since the tick before (or went idle)
   * give way to the connections that waited longest; a slot nobody waits for stays with such a
   * holder (no RDY 0 and RDY 1 on its wire), the one that has held it the shortest first, so that
   * with 2 slots over 3 connections each holds two ticks in three.
   */
  redistribute(): void {
    if (!this.rotating) {
      this.rebalance();
      return;
    }
    const now = this.now();
    const due: C[] = [];
    for (const c of this.connections) {
      if (c.rdy === 0) continue;
      // Half an interval, not a whole one: a holder granted at the last tick has held it one
      // interval by the clock's reading, give or take the timer's jitter. Against a whole one, a
      // tick read a millisecond early kept it a second interval, and two nsqd's messages waited 10s.
      const heldLong = now - c.rdyGrantedAt >= this.options.rotateAfterMs / 2;
      const idle = now - Math.max(c.lastMessageAt, c.rdyGrantedAt) >= this.options.lowRdyIdleTimeoutMs;
      if (heldLong || idle) due.push(c);
    }
    const limit = this.limit;
    let used = 0;
    for (const c of this.connections) used += due.includes(c) ? c.inFlight : Math.max(c.rdy, c.inFlight);
    const waiting = this.waitingLongestFirst();
    const mayKeep = due.filter((c) => c.inFlight === 0).sort((a, b) => b.rdyGrantedAt - a.rdyGrantedAt);
    for (const c of [...waiting, ...mayKeep]) {
      if (used < limit) {
        if (c.rdy === 0) this.send(c, 1);
        used++;
      } else if (c.rdy > 0) this.send(c, 0);
    }
    for (const c of due) if (c.inFlight > 0) this.send(c, 0);
    this.deficit = used < limit || this.connections.some((c) => c.rdy === 0);
  }

  /** Grants RDY 1 to waiting connections within `limit`, longest-waiting first. */
  private grantWaiting(limit: number): void {
    let used = 0;
    for (const c of this.connections) used += Math.max(c.rdy, c.inFlight);
    if (used >= limit) {
      this.deficit = this.connections.some((c) => c.rdy === 0);
      return;
    }
    for (const c of this.waitingLongestFirst()) {
      if (used >= limit) break;
      this.send(c, 1);
      used++;
    }
    this.deficit = used < limit || this.connections.some((c) => c.rdy === 0);
  }

  /**
   * The connections that may take RDY 1 (none, no message in flight, a server that takes RDY),
   * longest-waiting first; ties keep connection order. Connections are few, so sorting is cheap.
   */
  private waitingLongestFirst(): C[] {
    return this.connections.filter((c) => c.rdy === 0 && c.inFlight === 0 && c.maxRdyCount > 0).sort((a, b) => a.rdyGrantedAt - b.rdyGrantedAt);
  }

  /** Raises `c` toward `target` within what the others leave of the limit. */
  private raise(c: C, target: number, limit: number): void {
    let others = 0;
    for (const o of this.connections) if (o !== c) others += Math.max(o.rdy, o.inFlight);
    const allowed = Math.min(target, limit - others);
    if (allowed > c.rdy) this.send(c, allowed);
    if (c.rdy < target) this.deficit = true;
  }

  private send(c: C, count: number): void {
    if (count === c.rdy) return;
    if (c.rdy === 0 && count > 0) c.rdyGrantedAt = this.now();
    c.rdy = count;
    c.sendRdy(count);
  }
}
