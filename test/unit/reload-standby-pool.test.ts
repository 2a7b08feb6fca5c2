/**
 * The standby pool of --watch: as many standbys as its size (one in the runner; two here, to see
 * which is handed out); a reload takes a warm one first, else the oldest, or with `warmOnly` a warm
 * one or none; a dead one is never handed out; none starts while a reload holds the pool, and those
 * still starting are paused until its load is done; close kills them all.
 */
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StandbyPool, STANDBY_HOLD_MS, STANDBYS, type Standby, type StandbyHold } from '../../runner/reload/standby-pool.ts';

let nextPid = 1;

class FakeStandby implements Standby {
  readonly pid = nextPid++;
  isWarm = false;
  hasExited = false;
  private markWarm!: () => void;
  readonly warm = new Promise<void>((resolve) => (this.markWarm = resolve));

  becomeWarm(): void {
    this.isWarm = true;
    this.markWarm();
  }

  kill(): void {
    this.hasExited = true;
  }

  paused = false;

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }
}

function pool(size = STANDBYS): { pool: StandbyPool<FakeStandby>; spawned: FakeStandby[] } {
  const spawned: FakeStandby[] = [];
  const created = new StandbyPool(
    pino({ level: 'silent' }),
    () => {
      const standby = new FakeStandby();
      spawned.push(standby);
      return standby;
    },
    size,
  );
  return { pool: created, spawned };
}

/** A pool of two, filled: its two standbys, both still starting. */
function poolOfTwo(): { standbys: StandbyPool<FakeStandby>; spawned: FakeStandby[]; first: FakeStandby; second: FakeStandby } {
  const { pool: standbys, spawned } = pool(2);
  standbys.fill();
  return { standbys, spawned, first: spawned[0]!, second: spawned[1]! };
}

/**
 * A swap as the executor makes one: the pool held, a standby taken, the hold to end as the new
 * code's first run settles (`settle` settles it) or at its deadline.
 */
function swap(standbys: StandbyPool<FakeStandby>): { hold: StandbyHold; firstRun: Promise<void>; settle: () => void } {
  const hold = standbys.hold();
  standbys.take();
  hold.releaseSoon({ orOnFirstRun: true });
  let settle!: () => void;
  const firstRun = standbys.ran(new Promise<void>((resolve) => (settle = resolve)));
  return { hold, firstRun, settle };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('StandbyPool', () => {
  it('keeps one standby in the runner, and as many as its size', () => {
    const { pool: one, spawned: spawnedByOne } = pool(STANDBYS);
    one.fill();
    one.fill();
    expect(spawnedByOne).toHaveLength(1);
    one.close();
    const { pool: two, spawned } = pool(2);
    two.fill();
    two.fill();
    expect(spawned).toHaveLength(2);
    two.close();
  });

  it('hands out a warm standby first, else the one started first', () => {
    const { pool: standbys, spawned } = pool(2);
    standbys.fill();
    const [older, newer] = spawned;
    newer!.becomeWarm();
    expect(standbys.hasWarm()).toBe(true);
    expect(standbys.take()).toBe(newer);
    expect(standbys.hasWarm()).toBe(false);
    expect(standbys.take({ warmOnly: true }), 'none warm').toBeUndefined();
    expect(standbys.take()).toBe(older);
    expect(standbys.take()).toBeUndefined();
    standbys.close();
  });

  it('never hands out a standby that died, and replaces it', () => {
    const { pool: standbys, spawned } = pool();
    standbys.fill();
    spawned[0]!.kill();
    standbys.fill();
    expect(spawned).toHaveLength(2);
    expect(standbys.take()).toBe(spawned[1]);
    standbys.close();
  });

  it('starts none while a reload holds the pool, and what the pool lacks once released', () => {
    const { pool: standbys, spawned } = pool(2);
    standbys.fill();
    const hold = standbys.hold();
    standbys.take();
    standbys.take();
    standbys.fill();
    expect(spawned).toHaveLength(2);
    hold.release();
    expect(spawned).toHaveLength(2 * 2);
    standbys.close();
  });

  it("after a swap, starts them as the new code's first run settles, or once the hold has lasted long enough", async () => {
    vi.useFakeTimers();
    const { pool: standbys, spawned } = pool();
    standbys.fill();
    const { firstRun, settle } = swap(standbys);
    expect(spawned).toHaveLength(1);
    settle();
    await firstRun;
    await Promise.resolve();
    expect(spawned).toHaveLength(2);

    // No run comes: the hold ends at its deadline.
    const second = standbys.hold();
    standbys.take();
    second.releaseSoon({ orOnFirstRun: true });
    vi.advanceTimersByTime(STANDBY_HOLD_MS - 1);
    expect(spawned).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(spawned).toHaveLength(3);
    standbys.close();
  });

  it('an earlier swap ends no later hold: neither its first run settling late nor its deadline', async () => {
    vi.useFakeTimers();
    const { pool: standbys, spawned } = pool();
    standbys.fill();
    const { hold: first, firstRun: slowFirstRun, settle } = swap(standbys);
    // The first run takes long: the hold ends at its deadline.
    vi.advanceTimersByTime(STANDBY_HOLD_MS);
    expect(spawned).toHaveLength(2);

    // The next reload holds the pool; the earlier swap's first run settles only now.
    const second = standbys.hold();
    standbys.take();
    settle();
    await slowFirstRun;
    await Promise.resolve();
    expect(spawned).toHaveLength(2);

    // The next save comes before this swap's deadline: that deadline ends nothing either, nor
    // does a second release of an ended hold.
    second.releaseSoon({ orOnFirstRun: true });
    vi.advanceTimersByTime(STANDBY_HOLD_MS - 1);
    const third = standbys.hold();
    vi.advanceTimersByTime(STANDBY_HOLD_MS);
    first.release();
    second.release();
    expect(spawned).toHaveLength(2);
    // Only the hold's own end starts what the pool lacks.
    third.release();
    expect(spawned).toHaveLength(3);
    standbys.close();
  });

  it('pauses the standbys still starting while a reload loads, and lets them go on once the load is done', () => {
    const { standbys, spawned, first: warm, second: starting } = poolOfTwo();
    warm.becomeWarm();
    // Outside a reload nothing is paused.
    expect(standbys.take()).toBe(warm);
    expect(starting.paused).toBe(false);
    standbys.fill();
    const started = spawned[2]!;

    const hold = standbys.hold();
    expect([starting.paused, started.paused], 'held for a load beside the running code: both paused').toEqual([true, true]);
    expect(standbys.take()).toBe(starting);
    expect(started.paused, 'a standby still starting, beside the load').toBe(true);
    expect(starting.paused, 'the one taken').toBe(false);
    hold.releaseSoon({ orOnFirstRun: true });
    expect(started.paused, 'the load is done: the swap only waits').toBe(false);
    hold.release();
    standbys.close();
  });

  it('never pauses a warm standby, and a failed load lets the others go on', () => {
    const { standbys, spawned, first, second } = poolOfTwo();
    second.becomeWarm();
    const hold = standbys.hold();
    expect(standbys.take()).toBe(second);
    expect(first.paused).toBe(true);
    hold.release();
    expect(first.paused).toBe(false);

    first.becomeWarm();
    standbys.fill();
    spawned[2]!.becomeWarm();
    standbys.hold();
    standbys.take();
    expect(spawned.filter((standby) => standby.paused)).toEqual([]);
    standbys.close();
  });

  it('resumes a paused standby that the next reload takes', () => {
    const { standbys, first, second } = poolOfTwo();
    standbys.hold();
    expect(standbys.take()).toBe(first);
    expect(second.paused).toBe(true);
    // The next save comes before this reload's load is done: its hold replaces this one.
    standbys.hold();
    expect(standbys.take()).toBe(second);
    expect(second.paused).toBe(false);
    standbys.close();
  });

  it('close kills every standby and starts no more', () => {
    const { pool: standbys, spawned } = pool(2);
    standbys.fill();
    standbys.close();
    standbys.fill();
    expect(spawned).toHaveLength(2);
    expect(spawned.every((standby) => standby.hasExited)).toBe(true);
    expect(standbys.take()).toBeUndefined();
  });
});
