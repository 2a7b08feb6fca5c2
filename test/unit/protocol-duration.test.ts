import { describe, expect, it } from 'vitest';
import { DurationParseError, formatDurationMs, parseDurationMs, parseGoDurationMs } from '../../protocol/duration.ts';

describe('parseDurationMs', () => {
  it('reads Go durations as NSQ flags take them', () => {
    const cases: [string, number][] = [
      ['60s', 60_000],
      ['250ms', 250],
      ['15m', 900_000],
      ['1h', 3_600_000],
      ['1h30m', 5_400_000],
      ['1.5s', 1500],
      ['2h45m30.5s', 9_930_500],
      ['0s', 0],
      ['.5s', 500],
      ['1.s', 1000],
      ['1m30s', 90_000],
      ['30s100ms', 30_100],
      ['1500us', 2],
      ['1500µs', 2],
      ['1500μs', 2],
      ['2000000ns', 2],
      ['400us', 0],
      [' 60s ', 60_000],
    ];
    for (const [input, ms] of cases) expect(parseDurationMs(input), input).toBe(ms);
  });

  it('takes a bare whole number as milliseconds', () => {
    expect(parseDurationMs('0')).toBe(0);
    expect(parseDurationMs('1000')).toBe(1000);
    expect(parseDurationMs('007')).toBe(7);
    expect(parseDurationMs(250)).toBe(250);
    expect(parseDurationMs(1.6)).toBe(2);
    expect(parseDurationMs(0)).toBe(0);
  });

  it('rejects anything else with a typed error naming the input', () => {
    for (const input of ['', ' ', 's', 'ms', '1.5', '-1s', '+1s', '1d', '1 s', '1s2', '1S', 'abc', '1h-30m', '1e3ms', '1..5s', 'NaN']) {
      let caught: unknown;
      try {
        parseDurationMs(input);
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(input)).toBeInstanceOf(DurationParseError);
      expect((caught as DurationParseError).code).toBe('E_BAD_DURATION');
      expect((caught as DurationParseError).input).toBe(input);
      expect((caught as DurationParseError).message).toContain(JSON.stringify(input));
    }
    for (const input of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => parseDurationMs(input), String(input)).toThrow(DurationParseError);
    }
  });
});

describe('formatDurationMs', () => {
  it('prints milliseconds the way Go prints a duration', () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [1, '1ms'],
      [250, '250ms'],
      [1000, '1s'],
      [1500, '1.5s'],
      [30_000, '30s'],
      [60_000, '1m0s'],
      [61_001, '1m1.001s'],
      [900_000, '15m0s'],
      [3_600_000, '1h0m0s'],
      [5_400_000, '1h30m0s'],
    ];
    for (const [ms, text] of cases) expect(formatDurationMs(ms), String(ms)).toBe(text);
  });

  it('prints what parseDurationMs reads back', () => {
    for (const ms of [0, 1, 999, 1000, 1001, 59_999, 60_000, 61_500, 3_599_999, 3_600_000, 86_400_000, 90_061_001]) {
      expect(parseDurationMs(formatDurationMs(ms)), String(ms)).toBe(ms);
    }
  });
});

describe('parseGoDurationMs (nsq commands: Go durations only)', () => {
  it("takes what Go's time.ParseDuration takes, a sign included, and refuses a bare number but 0", () => {
    expect(['0', '+0', '-0', '1.5s', '1h30m', '+5s', '-0s', '.5s'].map((text) => parseGoDurationMs(text))).toEqual([0, 0, 0, 1500, 5_400_000, 5000, 0, 500]);
    expect(() => parseGoDurationMs('60')).toThrow('time: missing unit in duration "60"');
    expect(() => parseGoDurationMs('00')).toThrow('time: missing unit in duration "00"');
    // No "number of milliseconds" offered where none is taken.
    expect(() => parseGoDurationMs('1m30')).toThrow('invalid duration "1m30": a Go duration, such as 250ms, 60s, 15m, 1h30m');
  });
});
