import { describe, expect, it } from 'vitest';
import { RateTracker } from '../../console/server/rates.ts';
import { SeriesStore } from '../../console/server/series.ts';

describe('RateTracker', () => {
  it('gives the per-second rate between two polls', () => {
    const rates = new RateTracker();
    expect(rates.update('t', 100, 1000)).toBeUndefined();
    expect(rates.update('t', 300, 3000)).toBe(100);
    expect(rates.update('t', 300, 5000)).toBe(0);
  });

  it('has no rate across a counter reset or a zero interval', () => {
    const rates = new RateTracker();
    rates.update('t', 500, 0);
    expect(rates.update('t', 20, 2000)).toBeUndefined();
    expect(rates.update('t', 40, 4000)).toBe(10);
    expect(rates.update('t', 50, 4000)).toBeUndefined();
  });

  it('forgets keys a round did not update, so a re-created topic starts fresh', () => {
    const rates = new RateTracker();
    rates.update('a', 10, 0);
    rates.update('b', 10, 0);
    rates.endRound();
    rates.update('a', 20, 1000);
    rates.endRound();
    expect(rates.size).toBe(1);
    expect(rates.update('b', 30, 2000)).toBeUndefined();
  });
});

const samples = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('SeriesStore', () => {
  it('returns the last five minutes from the fine tier, one point per poll, aligned across keys', () => {
    const store = new SeriesStore({ fineStepMs: 1000 });
    const t0 = 1_700_000_000_000;
    store.record(t0, samples({ a: 1 }));
    store.record(t0 + 1000, samples({ a: 2, b: 5 }));
    store.record(t0 + 2000, samples({ b: 6 }));
    const window = store.window(['a', 'b', 'missing'], 5 * 60_000, t0 + 2000);
    expect(window.times).toEqual([t0 / 1000, t0 / 1000 + 1, t0 / 1000 + 2]);
    expect(window.values).toEqual({ a: [1, 2, null], b: [null, 5, 6], missing: [null, null, null] });
  });

  it('keeps only the fine span, overwriting the oldest points', () => {
    const store = new SeriesStore({ fineStepMs: 1000, fineSpanMs: 3000 });
    for (let i = 0; i < 10; i += 1) store.record(i * 1000, samples({ a: i }));
    const window = store.window(['a'], 3000, 9000);
    expect(window.values.a).toEqual([6, 7, 8, 9]);
    expect(window.times).toEqual([6, 7, 8, 9]);
  });

  it('averages into coarse points for the longer windows, stamped at the end of their bucket', () => {
    const store = new SeriesStore({ fineStepMs: 1000, fineSpanMs: 5000, coarseStepMs: 10_000, coarseSpanMs: 60_000 });
    for (let i = 0; i < 35; i += 1) store.record(i * 1000, samples({ a: i, b: i < 10 ? 1 : Number.NaN }));
    const window = store.window(['a', 'b'], 30 * 60_000, 35_000);
    // Three full buckets: 0–9, 10–19, 20–29; the fourth is still filling.
    expect(window.times).toEqual([10, 20, 30]);
    expect(window.values.a).toEqual([4.5, 14.5, 24.5]);
    expect(window.values.b).toEqual([1, null, null]);
  });

  it('forgets a key once it has been gone for a whole ring', () => {
    const store = new SeriesStore({ fineStepMs: 1000, fineSpanMs: 3000 });
    store.record(0, samples({ gone: 1, kept: 1 }));
    for (let i = 1; i <= 5; i += 1) store.record(i * 1000, samples({ kept: 1 }));
    expect(store.keyCount).toBe(1);
  });
});
