/**
 * Backoff after failures, as go-nsq does it: a failure raises the level, a success lowers it;
 * while the level is above 0 every connection gets RDY 0 for `multiplier × 2^level`, then one
 * connection gets RDY 1 to test the waters. Signals that arrive while a wait runs are ignored, so
 * one result counts per window. The strategy is pure; the controller owns the one timer.
 */

export interface BackoffStrategyOptions {
  multiplierMs: number;
  /** 0 disables backoff. */
  maxDurationMs: number;
  /** Wait a random time in [0, multiplier × 2^level) instead of the full time. */
  fullJitter: boolean;
}

export class ExponentialBackoff {
  level = 0;
  /** The highest level whose wait fits under the maximum (at least 1 when backoff is enabled). */
  readonly maxLevel: number;

  constructor(
    private readonly options: BackoffStrategyOptions,
    private readonly random: () => number = Math.random,
  ) {
    let maxLevel = 0;
    if (options.maxDurationMs > 0) {
      maxLevel = 1;
      while (maxLevel < 30 && options.multiplierMs * 2 ** (maxLevel + 1) <= options.maxDurationMs) maxLevel++;
    }
    this.maxLevel = maxLevel;
  }

  get enabled(): boolean {
    return this.maxLevel > 0;
  }

  onFailure(): void {
    if (this.level < this.maxLevel) this.level++;
  }

  onSuccess(): void {
    if (this.level > 0) this.level--;
  }

  /** The wait at the current level, capped at the maximum. */
  durationMs(): number {
    if (this.level === 0) return 0;
    const full = Math.min(this.options.multiplierMs * 2 ** this.level, this.options.maxDurationMs);
    return this.options.fullJitter ? Math.floor(this.random() * full) : full;
  }
}

export type BackoffSignal = 'success' | 'failure' | 'continue';

/** What the controller asks of the consumer's flow control. */
export interface BackoffHooks {
  /** RDY 0 everywhere: the wait starts. */
  pause(): void;
  /** The wait is over: RDY 1 on one connection. Returns false if there was no connection to test. */
  test(): boolean;
  /** Level 0 again: every connection gets its normal share back. */
  resume(): void;
  /** The level changed or a wait started: for the `backoff` event. */
  changed(level: number, durationMs: number): void;
}

/** When no connection could be tested, try again after this long. */
const RETEST_DELAY_MS = 1000;

export class BackoffController {
  private timer: NodeJS.Timeout | undefined;
  private active = false;
  private readonly fire = (): void => this.onTimer();

  constructor(
    readonly strategy: ExponentialBackoff,
    private readonly hooks: BackoffHooks,
  ) {}

  get level(): number {
    return this.strategy.level;
  }

  /** True from the first failure until the level is back at 0. */
  get backingOff(): boolean {
    return this.active;
  }

  /** True while a wait runs (every connection at RDY 0). */
  get waiting(): boolean {
    return this.timer !== undefined;
  }

  signal(kind: BackoffSignal): void {
    if (this.timer !== undefined || !this.strategy.enabled) return;
    if (kind === 'failure') this.strategy.onFailure();
    else if (kind === 'success') this.strategy.onSuccess();
    if (this.strategy.level === 0) {
      if (this.active) {
        this.active = false;
        this.hooks.resume();
        this.hooks.changed(0, 0);
      }
      return;
    }
    if (kind === 'success' && !this.active) return;
    this.active = true;
    const durationMs = this.strategy.durationMs();
    this.hooks.pause();
    this.timer = setTimeout(this.fire, durationMs);
    this.hooks.changed(this.strategy.level, durationMs);
  }

  /** Stops the timer (on close). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private onTimer(): void {
    this.timer = undefined;
    if (!this.hooks.test()) this.timer = setTimeout(this.fire, RETEST_DELAY_MS);
  }
}
