import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackoffController, ExponentialBackoff, type BackoffHooks } from '../../client/backoff.ts';

function recorder() {
  const calls: string[] = [];
  let canTest = true;
  const hooks: BackoffHooks = {
    pause: () => calls.push('pause'),
    test: () => {
      calls.push(canTest ? 'test' : 'test-failed');
      return canTest;
    },
    resume: () => calls.push('resume'),
    changed: (level, durationMs) => calls.push(`level ${level} ${durationMs}`),
  };
  return { calls, hooks, setCanTest: (value: boolean) => (canTest = value) };
}

describe('ExponentialBackoff', () => {
  it('waits multiplier × 2^level, capped, and stops climbing at the cap', () => {
    const b = new ExponentialBackoff({ multiplierMs: 1000, maxDurationMs: 120_000, fullJitter: false });
    expect(b.maxLevel).toBe(6);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      b.onFailure();
      seen.push(b.durationMs());
    }
    expect(seen).toEqual([2000, 4000, 8000, 16000, 32000, 64000, 64000, 64000, 64000, 64000]);
    b.onSuccess();
    expect(b.level).toBe(5);
  });

  it('full jitter draws in [0, multiplier × 2^level)', () => {
    const b = new ExponentialBackoff({ multiplierMs: 100, maxDurationMs: 10_000, fullJitter: true }, () => 0.5);
    b.onFailure();
    expect(b.durationMs()).toBe(100);
  });

  it('maxDurationMs 0 disables backoff', () => {
    const b = new ExponentialBackoff({ multiplierMs: 100, maxDurationMs: 0, fullJitter: false });
    expect(b.enabled).toBe(false);
    b.onFailure();
    expect(b.level).toBe(0);
  });
});

describe('BackoffController', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('failure → RDY 0 wait → RDY 1 test → success steps down to normal', () => {
    vi.useFakeTimers();
    const { calls, hooks } = recorder();
    const c = new BackoffController(new ExponentialBackoff({ multiplierMs: 100, maxDurationMs: 10_000, fullJitter: false }), hooks);
    c.signal('failure');
    expect(calls).toEqual(['pause', 'level 1 200']);
    expect(c.waiting).toBe(true);
    // Results during the wait are ignored.
    c.signal('failure');
    c.signal('success');
    expect(c.level).toBe(1);
    vi.advanceTimersByTime(200);
    expect(calls.at(-1)).toBe('test');
    c.signal('success');
    expect(calls.slice(-2)).toEqual(['resume', 'level 0 0']);
    expect(c.backingOff).toBe(false);
  });

  it('a failed test raises the level and waits longer; success at level 2 waits again at level 1', () => {
    vi.useFakeTimers();
    const { calls, hooks } = recorder();
    const c = new BackoffController(new ExponentialBackoff({ multiplierMs: 100, maxDurationMs: 10_000, fullJitter: false }), hooks);
    c.signal('failure');
    vi.advanceTimersByTime(200);
    c.signal('failure');
    expect(calls.at(-1)).toBe('level 2 400');
    vi.advanceTimersByTime(400);
    c.signal('success');
    expect(calls.at(-1)).toBe('level 1 200');
    vi.advanceTimersByTime(200);
    c.signal('success');
    expect(c.level).toBe(0);
    expect(calls.at(-1)).toBe('level 0 0');
  });

  it('never stalls: with no connection to test it retries, and success at level 0 does nothing', () => {
    vi.useFakeTimers();
    const { calls, hooks, setCanTest } = recorder();
    const c = new BackoffController(new ExponentialBackoff({ multiplierMs: 100, maxDurationMs: 10_000, fullJitter: false }), hooks);
    c.signal('success');
    expect(calls).toEqual([]);
    setCanTest(false);
    c.signal('failure');
    vi.advanceTimersByTime(200);
    expect(calls.at(-1)).toBe('test-failed');
    setCanTest(true);
    vi.advanceTimersByTime(1000);
    expect(calls.at(-1)).toBe('test');
    c.stop();
  });

  it('a continue signal in backoff restarts the wait at the same level', () => {
    vi.useFakeTimers();
    const { calls, hooks } = recorder();
    const c = new BackoffController(new ExponentialBackoff({ multiplierMs: 100, maxDurationMs: 10_000, fullJitter: false }), hooks);
    c.signal('failure');
    vi.advanceTimersByTime(200);
    c.signal('continue');
    expect(calls.slice(-2)).toEqual(['pause', 'level 1 200']);
    c.stop();
  });
});
