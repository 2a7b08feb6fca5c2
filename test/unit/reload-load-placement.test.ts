/**
 * Where a reload loads the code (load-placement.ts): beside the running code, in its child, unless
 * that code has tasks running and a standby is warm, the child has died, or it took its limit of
 * loads; a move takes a warm standby or nothing; and once the saves pause, code loaded beside older
 * code moves, when a standby is warm.
 */
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HostProcess } from '../../runner/reload/host-process.ts';
import { LoadPlacement, MAX_LOADS_PER_HOST, MOVE_AFTER_QUIET_MS } from '../../runner/reload/load-placement.ts';
import { StandbyPool, type Standby } from '../../runner/reload/standby-pool.ts';

/** What the placement reads of a child. */
class FakeHost implements Standby {
  static nextPid = 1;
  readonly pid = FakeHost.nextPid++;
  isWarm = false;
  hasExited = false;
  inFlight = 0;
  loadsBegun = 1;
  readonly warm = Promise.resolve();
  kill(): void {
    this.hasExited = true;
  }
  pause(): void {}
  resume(): void {}
}

function setUp(): { placement: LoadPlacement; standbys: StandbyPool<FakeHost>; spawned: FakeHost[]; moves: number[]; reload: { running: boolean } } {
  const spawned: FakeHost[] = [];
  const standbys = new StandbyPool<FakeHost>(pino({ level: 'silent' }), () => {
    const host = new FakeHost();
    spawned.push(host);
    return host;
  });
  const moves: number[] = [];
  const reload = { running: false };
  const placement = new LoadPlacement(
    pino({ level: 'silent' }),
    standbys as unknown as StandbyPool,
    () => {
      const host = new FakeHost();
      spawned.push(host);
      return host as unknown as HostProcess;
    },
    () => moves.push(Date.now()),
    () => reload.running,
  );
  return { placement, standbys, spawned, moves, reload };
}

const asHost = (host: FakeHost): HostProcess => host as unknown as HostProcess;

afterEach(() => {
  vi.useRealTimers();
});

describe('LoadPlacement', () => {
  it('loads a save beside the running code, even with a standby warm', () => {
    const { placement, standbys, spawned } = setUp();
    standbys.fill();
    spawned[0]!.isWarm = true;
    const active = new FakeHost();
    expect(placement.target(asHost(active), false)).toBe(active);
    active.loadsBegun = MAX_LOADS_PER_HOST - 1;
    expect(placement.target(asHost(active), false)).toBe(active);
  });

  it('takes the warm standby while the old code has tasks running, and loads beside it when none is warm', () => {
    const { placement, standbys, spawned } = setUp();
    standbys.fill();
    const active = new FakeHost();
    active.inFlight = 1;
    expect(placement.target(asHost(active), false), 'the standby still starting').toBe(active);
    spawned[0]!.isWarm = true;
    expect(placement.target(asHost(active), false)).toBe(spawned[0]);
  });

  it('the first save, no standby started yet, loads beside the running code, tasks running or not', () => {
    const { placement, spawned } = setUp();
    const active = new FakeHost();
    expect(placement.target(asHost(active), false)).toBe(active);
    active.inFlight = 1;
    expect(placement.target(asHost(active), false)).toBe(active);
    expect(spawned).toEqual([]);
  });

  it('after a crash or past the limit of loads: a standby even still starting, else a new child', () => {
    const { placement, standbys, spawned } = setUp();
    standbys.fill();
    const crashed = new FakeHost();
    crashed.hasExited = true;
    expect(placement.target(asHost(crashed), false)).toBe(spawned[0]);
    const full = new FakeHost();
    full.loadsBegun = MAX_LOADS_PER_HOST;
    const spawnedNow = placement.target(asHost(full), false);
    expect(spawned).toHaveLength(2);
    expect(spawnedNow).toBe(spawned[1]);
  });

  it('once the code failed to load beside itself, loads every save in a standby; says so once', () => {
    const { placement, standbys, spawned } = setUp();
    standbys.fill();
    const active = new FakeHost();
    expect(placement.loadsBesideFail()).toBe(true);
    expect(placement.loadsBesideFail()).toBe(false);
    expect(placement.target(asHost(active), false)).toBe(spawned[0]);
  });

  it('a move takes a warm standby, or nothing', () => {
    const { placement, standbys, spawned } = setUp();
    standbys.fill();
    const active = new FakeHost();
    expect(placement.target(asHost(active), true)).toBeUndefined();
    spawned[0]!.isWarm = true;
    expect(placement.target(asHost(active), true)).toBe(spawned[0]);
  });

  it('moves code loaded beside older code once the saves pause and a standby is warm; never code loaded alone', () => {
    vi.useFakeTimers();
    const { placement, standbys, spawned, moves, reload } = setUp();
    standbys.fill();
    const alone = new FakeHost();
    placement.afterReload(asHost(alone));
    vi.advanceTimersByTime(10 * MOVE_AFTER_QUIET_MS);
    expect(moves).toEqual([]);

    const beside = new FakeHost();
    beside.loadsBegun = 2;
    placement.afterReload(asHost(beside));
    vi.advanceTimersByTime(MOVE_AFTER_QUIET_MS - 1);
    // A save within the pause starts the wait again.
    placement.afterReload(asHost(beside));
    vi.advanceTimersByTime(MOVE_AFTER_QUIET_MS - 1);
    expect(moves).toEqual([]);
    // No standby warm yet: it waits for one.
    vi.advanceTimersByTime(3 * MOVE_AFTER_QUIET_MS);
    expect(moves).toEqual([]);
    spawned[0]!.isWarm = true;
    reload.running = true;
    vi.advanceTimersByTime(MOVE_AFTER_QUIET_MS);
    expect(moves, 'a reload is running: its end calls afterReload again').toEqual([]);
    reload.running = false;
    placement.afterReload(asHost(beside));
    vi.advanceTimersByTime(MOVE_AFTER_QUIET_MS);
    expect(moves).toHaveLength(1);
    placement.afterReload(asHost(beside));
    placement.cancel();
    vi.advanceTimersByTime(10 * MOVE_AFTER_QUIET_MS);
    expect(moves).toHaveLength(1);
    standbys.close();
  });
});
