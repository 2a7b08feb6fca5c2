/**
 * Every client's heartbeats and read deadline on one timer, instead of an interval per connection.
 *
 * nsqd v1.3.0 (`nsqd/protocol_v2.go`): messagePump sends `_heartbeat_` on a ticker of the client's
 * heartbeat interval, whatever else it sends, and restarts the ticker when IDENTIFY changes the
 * interval; IOLoop sets a read deadline of two intervals before each read, so a client that sends
 * nothing for that long is closed. Here each client is due at its next heartbeat or at its read
 * deadline, whichever comes first, and waits in the slot of a timing wheel for that moment; one
 * tick every {@link TICK_MS} handles the clients of its slot that are due. A read only records its
 * time (the connection does that anyway); nothing is rescheduled per read or per message.
 *
 * Timers run before the event loop reads the sockets, so after a stall a client's answer may be
 * waiting unread when its deadline is checked; as Go's reader would have taken it, the client is
 * closed only if nothing was read once the loop has polled the sockets (a `setImmediate` later).
 */

/** What the wheel asks of a connection. */
export interface HeartbeatClient {
  /** Wall-clock ms of the last bytes read from the client. */
  readonly lastReadAtMs: number;
  sendHeartbeat(): void;
  /** Nothing read for two intervals: the connection closes. */
  missedHeartbeats(): void;
}

/** A client's place in the wheel; {@link HeartbeatWheel.cancel} takes it out. */
export interface HeartbeatEntry {
  /** {@link DETACHED} once cancelled, so a closed client is not kept alive by its slot. */
  client: HeartbeatClient;
  readonly intervalMs: number;
  nextBeatAtMs: number;
  dueAtMs: number;
  cancelled: boolean;
}

/** Heartbeats go out at most this late (plus event-loop delay). */
export const TICK_MS = 50;
/** Slots for about 100 s, past nsqd's 60 s largest interval by default; a longer wait takes more rounds. */
const SLOTS = 2048;

const slotOf = (atMs: number): number => Math.ceil(atMs / TICK_MS) % SLOTS;

/** Stands in for the client of a cancelled entry, which stays in its slot until the wheel passes it. */
const DETACHED: HeartbeatClient = { lastReadAtMs: 0, sendHeartbeat() {}, missedHeartbeats() {} };

export class HeartbeatWheel {
  private readonly slots: HeartbeatEntry[][] = Array.from({ length: SLOTS }, () => []);
  /** The last tick handled, in ticks since the epoch. */
  private handledTick = 0;
  private live = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Past their read deadline at the last tick, to close unless the next poll reads something. */
  private overdue: HeartbeatEntry[] = [];

  /** Heartbeats every `intervalMs` from now, the first one interval from now (a new ticker). */
  schedule(client: HeartbeatClient, intervalMs: number, nowMs = Date.now()): HeartbeatEntry {
    const entry: HeartbeatEntry = { client, intervalMs, nextBeatAtMs: nowMs + intervalMs, dueAtMs: 0, cancelled: false };
    entry.dueAtMs = Math.min(entry.nextBeatAtMs, client.lastReadAtMs + 2 * intervalMs);
    if (this.live++ === 0) {
      this.handledTick = Math.floor(nowMs / TICK_MS);
      this.timer = setInterval(this.tick, TICK_MS);
      this.timer.unref();
    }
    this.slots[slotOf(entry.dueAtMs)]!.push(entry);
    return entry;
  }

  /** Stops an entry's heartbeats; it leaves its slot when the wheel next passes it. */
  cancel(entry: HeartbeatEntry): void {
    if (entry.cancelled) return;
    entry.cancelled = true;
    entry.client = DETACHED;
    if (--this.live === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      // Emptied in place: a broker whose only clients come and go would otherwise allocate 2,048 arrays each time.
      for (const slot of this.slots) slot.length = 0;
    }
  }

  /** How many clients have heartbeats. */
  get size(): number {
    return this.live;
  }

  private readonly tick = (): void => {
    const nowMs = Date.now();
    const nowTick = Math.floor(nowMs / TICK_MS);
    // After a stall, every slot passed meanwhile; past a whole round, each slot once.
    const from = Math.max(this.handledTick + 1, nowTick - SLOTS + 1);
    this.handledTick = nowTick;
    for (let tick = from; tick <= nowTick && this.live > 0; tick++) this.handleSlot(tick % SLOTS, nowMs);
  };

  private handleSlot(index: number, nowMs: number): void {
    const entries = this.slots[index]!;
    if (entries.length === 0) return;
    this.slots[index] = [];
    for (const entry of entries) {
      if (entry.cancelled) continue;
      const deadlineMs = entry.client.lastReadAtMs + 2 * entry.intervalMs;
      if (entry.dueAtMs > nowMs) this.slots[slotOf(entry.dueAtMs)]!.push(entry);
      else if (nowMs < deadlineMs) this.beat(entry, nowMs, deadlineMs);
      else if (this.overdue.push(entry) === 1) setImmediate(this.closeOverdue);
    }
  }

  private readonly closeOverdue = (): void => {
    const overdue = this.overdue;
    this.overdue = [];
    const nowMs = Date.now();
    for (const entry of overdue) {
      if (entry.cancelled) continue;
      const deadlineMs = entry.client.lastReadAtMs + 2 * entry.intervalMs;
      if (nowMs < deadlineMs) {
        this.beat(entry, nowMs, deadlineMs);
      } else {
        const { client } = entry;
        this.cancel(entry);
        client.missedHeartbeats();
      }
    }
  };

  /** Sends the heartbeat if it is due, and puts the entry back in the wheel at its next moment. */
  private beat(entry: HeartbeatEntry, nowMs: number, readDeadlineMs: number): void {
    const { client, intervalMs } = entry;
    if (nowMs >= entry.nextBeatAtMs) {
      client.sendHeartbeat();
      entry.nextBeatAtMs += intervalMs;
      // Like Go's ticker, a beat that could not go out in time is dropped, not sent in a burst.
      if (entry.nextBeatAtMs <= nowMs) entry.nextBeatAtMs = nowMs + intervalMs;
    }
    entry.dueAtMs = Math.min(entry.nextBeatAtMs, readDeadlineMs);
    this.slots[slotOf(entry.dueAtMs)]!.push(entry);
  }
}
