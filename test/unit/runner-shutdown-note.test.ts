/**
 * The line a stop logs a second after its signal, naming what it still waits for
 * (runner/ops/shutdown.ts's describeRunningTasks).
 */
import { describe, expect, it } from 'vitest';
import { describeRunningTasks } from '../../runner/ops/shutdown.ts';

describe('describeRunningTasks', () => {
  it('names the messages each task is handling and how long the stop waits for them', () => {
    expect(describeRunningTasks({ send: 1, audit: 1 }, 30_000)).toBe('2 messages its tasks are handling (send: 1, audit: 1) to finish, up to 30s after the stop began');
    expect(describeRunningTasks({ run: 1 }, 1500)).toBe('1 message its tasks are handling (run: 1) to finish, up to 1.5s after the stop began');
  });

  it('says nothing when no task runs, or when the wait is over before the line is due (its messages are being requeued)', () => {
    expect(describeRunningTasks({ send: 0 }, 30_000)).toBeUndefined();
    expect(describeRunningTasks({ run: 1 }, 1000)).toBeUndefined();
    expect(describeRunningTasks({ run: 1 }, 200)).toBeUndefined();
  });
});
