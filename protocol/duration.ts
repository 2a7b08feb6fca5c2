/**
 * Go duration strings, as NSQ's flags take them: `60s`, `250ms`, `15m`, `1h30m`, `1.5s`.
 * {@link parseGoDurationMs} reads what a user writes (flags, NSQWORKER_* variables, strings in the
 * config file): a unit is required, as Go's time.ParseDuration requires it. {@link parseDurationMs}
 * also takes a bare number as milliseconds, what our own options are measured in.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 MICRO SIGN
  'μs': 1e-3, // U+03BC GREEK SMALL LETTER MU: Go's time.ParseDuration accepts both
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

export class DurationParseError extends Error {
  override readonly name = 'DurationParseError';
  readonly code = 'E_BAD_DURATION';
  constructor(readonly input: string) {
    super(`invalid duration ${JSON.stringify(input)}: use a number of milliseconds or a Go duration such as 250ms, 60s, 15m, 1h30m`);
  }
}

/** Parses a duration to whole milliseconds (rounded). Throws {@link DurationParseError}. */
export function parseDurationMs(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new DurationParseError(String(input));
    return Math.round(input);
  }
  const text = input.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (text === '0') return 0;
  if (text === '') throw new DurationParseError(input);
  let total = 0;
  PART.lastIndex = 0;
  let offset = 0;
  while (offset < text.length) {
    PART.lastIndex = offset;
    const match = PART.exec(text);
    if (match === null) throw new DurationParseError(input);
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    offset = PART.lastIndex;
  }
  return Math.round(total);
}

/**
 * A duration as Go's time.ParseDuration takes it, in whole milliseconds: a unit is required (`5` is
 * refused, `0` alone is not), as for nsqd's, nsqlookupd's and nsqadmin's flags, which the `broker`,
 * `lookupd`, `admin`, `pub`, `tail` and `stats` commands take. Throws {@link DurationParseError} with
 * Go's reason for a bare number.
 */
export function parseGoDurationMs(input: string | number): number {
  const text = String(input).trim();
  // A bare number but "0" (signed or not) has no unit: Go's special case is exactly "0".
  if (/^[+-]?\d+(\.\d*)?$/.test(text) && text.replace(/^[+-]/, '') !== '0') throw new MissingUnitError(text);
  // Go takes a sign: "+5s", "-0s" (a negative one is then refused by the option's own bound).
  const sign = text.startsWith('-') ? -1 : 1;
  const unsigned = text.replace(/^[+-]/, '');
  try {
    return sign * parseDurationMs(unsigned) || 0;
  } catch {
    throw new GoDurationError(text);
  }
}

export class MissingUnitError extends DurationParseError {
  constructor(input: string) {
    super(input);
    this.message = `time: missing unit in duration ${JSON.stringify(input)} (a Go duration, such as ${input}s or ${input}ms)`;
  }
}

/** A duration nsq's own flags refuse: Go durations only there, so the message offers no bare number. */
export class GoDurationError extends DurationParseError {
  constructor(input: string) {
    super(input);
    this.message = `invalid duration ${JSON.stringify(input)}: a Go duration, such as 250ms, 60s, 15m, 1h30m`;
  }
}

/** Formats milliseconds the way Go prints a duration, for help text and logs (`1m0s`, `250ms`). */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  let out = '';
  if (hours > 0) out += `${hours}h`;
  if (hours > 0 || minutes > 0) out += `${minutes}m`;
  return `${out}${seconds}s`;
}
