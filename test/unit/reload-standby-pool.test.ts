/**
 * The standby pool of --watch: one warm standby at rest, two while the code is being edited (each
 * started a swap before it is needed), back to one after the editing window; a reload takes a warm
 * one first, else the oldest; a dead one is never handed out; close kills them all.
 */
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StandbyPool, STANDBYS_IDLE, STANDBYS_WHILE_EDITING, type Standby } from '../../runner/reload/standby-pool.ts';

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
}

function pool(editingWindowMs = 60_000): { pool: StandbyPool<FakeStandby>; spawned: FakeStandby[] } {
  const spawned: FakeStandby[] = [];
  const created = new StandbyPool(
    pino({ level: 'silent' }),
    () => {
      const standby = new FakeStandby();
      spawned.push(standby);
      return standby;
    },
    editingWindowMs,
  );
  return { pool: created, spawned };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('StandbyPool', () => {
  it('keeps one standby at rest and two while the code is being edited', () => {
    const { pool: standbys, spawned } = pool();
    standbys.fill();
    standbys.fill();
    expect(spawned).toHaveLength(STANDBYS_IDLE);
    standbys.markEditing();
    standbys.fill();
    expect(spawned).toHaveLength(STANDBYS_WHILE_EDITING);
    standbys.close();
  });

  it('hands out a warm standby first, else the one started first', () => {
    const { pool: standbys, spawned } = pool();
    standbys.markEditing();
    standbys.fill();
    const [older, newer] = spawned;
    newer!.becomeWarm();
    expect(standbys.take()).toBe(newer);
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

  it('goes back to one standby, keeping the oldest, once the editing window has passed without an edit', () => {
    vi.useFakeTimers();
    const { pool: standbys, spawned } = pool(1000);
    standbys.markEditing();
    standbys.fill();
    vi.advanceTimersByTime(900);
    // An edit within the window starts it again.
    standbys.markEditing();
    vi.advanceTimersByTime(900);
    expect(spawned.filter((standby) => standby.hasExited)).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(spawned.map((standby) => standby.hasExited)).toEqual([false, true]);
    standbys.fill();
    expect(spawned).toHaveLength(2);
    standbys.close();
  });

  it('close kills every standby and starts no more', () => {
    const { pool: standbys, spawned } = pool();
    standbys.markEditing();
    standbys.fill();
    standbys.close();
    standbys.fill();
    expect(spawned).toHaveLength(STANDBYS_WHILE_EDITING);
    expect(spawned.every((standby) => standby.hasExited)).toBe(true);
    expect(standbys.take()).toBeUndefined();
  });
});
