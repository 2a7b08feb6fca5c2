import { describe, expect, it } from 'vitest';
import { deadlineFromEpochMs, deadlineNow, deadlineToEpochMs } from '../../broker/nsqd/deadline-clock.ts';

describe('deadline clock', () => {
  it('reads the time once per task of the event loop, and again in the next', async () => {
    const first = deadlineNow();
    const spinUntil = Date.now() + 5;
    while (Date.now() < spinUntil);
    expect(deadlineNow()).toBe(first);
    await new Promise((resolve) => setImmediate(resolve));
    expect(deadlineNow()).toBeGreaterThanOrEqual(first + 5);
  });

  it('converts to and from ms since the epoch, in whole ms', () => {
    const epochMs = Date.now() + 60_000.7;
    const deadline = deadlineFromEpochMs(epochMs);
    expect(Number.isInteger(deadline)).toBe(true);
    expect(deadlineToEpochMs(deadline)).toBe(Math.floor(epochMs));
    expect(Math.abs(deadlineToEpochMs(deadlineNow()) - Date.now())).toBeLessThan(1000);
  });
});
