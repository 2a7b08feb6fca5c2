import { deadlineNow } from './deadline-clock.ts';

/**
 * One timer for many deadlines: armed for the earliest one asked for, and moved only when an
 * earlier one comes, so a channel arms no timer per message. The timer does not keep the process
 * alive.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | undefined = undefined;
  private dueAtMs = Infinity;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.dueAtMs = Infinity;
    this.fire();
  };

  /** `fire` runs when the earliest deadline is reached; it re-arms for the next. */
  constructor(private readonly fire: () => void) {}

  /** Makes sure the timer fires by `dueAtMs` (on the deadline clock). */
  arm(dueAtMs: number): void {
    if (dueAtMs >= this.dueAtMs) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.dueAtMs = dueAtMs;
    this.timer = setTimeout(this.onTimer, Math.max(0, dueAtMs - deadlineNow()));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAtMs = Infinity;
  }
}
