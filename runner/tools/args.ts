/**
 * Flag values for the tools, checked into typed options. A bad value is a {@link UsageError}
 * (exit status 2) naming the flag.
 *
 * cac hands option values through mri, which turns anything that looks like a number into one:
 * `--topic 007` would arrive as 7 and `--delimiter ' '` as 0. Names and delimiters must keep their
 * exact text, so string flags are read back from the raw argv instead.
 */
import { parseGoDurationMs } from '../../protocol/duration.ts';
import { isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { UsageError } from '../config/flags.ts';

/** cac's key for a flag: `--nsqd-tcp-address` is `nsqdTcpAddress`. */
export const camelCase = (flag: string): string => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** Every value given for `--flag` in `argv`, as typed (`--flag v` and `--flag=v`); scanning stops at `--`. */
export function rawFlagValues(argv: readonly string[], flag: string): string[] {
  const long = `--${flag}`;
  const values: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') break;
    if (token.startsWith(`${long}=`)) values.push(token.slice(long.length + 1));
    else if (token === long) {
      const next = argv[i + 1];
      // mri treats a following `-x` as another flag, leaving this one without a value.
      if (next !== undefined && !next.startsWith('-')) {
        values.push(next);
        i++;
      }
    }
  }
  return values;
}

/** A flag's values as strings: exact text from argv when it is there, cac's value otherwise. */
export function stringValues(argv: readonly string[], parsed: Record<string, unknown>, flag: string): string[] {
  const value = parsed[camelCase(flag)];
  if (value === undefined) return [];
  const raw = rawFlagValues(argv, flag);
  if (raw.length > 0) return raw;
  const list = Array.isArray(value) ? value : [value];
  if (list.some((item) => item === true)) throw new UsageError(`--${flag} needs a value`);
  return list.map(String);
}

/** A single-valued string flag: the last one given wins, as with Go's flag package. */
export function stringValue(argv: readonly string[], parsed: Record<string, unknown>, flag: string): string | undefined {
  const values = stringValues(argv, parsed, flag);
  return values[values.length - 1];
}

export function requiredString(argv: readonly string[], parsed: Record<string, unknown>, flag: string): string {
  const value = stringValue(argv, parsed, flag);
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required`);
  return value;
}

/** A repeatable flag; commas separate values too, as in the broker's list flags. */
export function listValue(argv: readonly string[], parsed: Record<string, unknown>, flag: string): string[] {
  return stringValues(argv, parsed, flag)
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '');
}

export function intValue(parsed: Record<string, unknown>, flag: string, fallback: number, min = 0): number {
  const raw = parsed[camelCase(flag)];
  if (raw === undefined) return fallback;
  const one = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  const value = typeof one === 'number' ? one : one === true ? Number.NaN : Number(String(one));
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${flag} takes a whole number >= ${min}, got ${JSON.stringify(one === true ? '' : one)}`);
  }
  return value;
}

/** A Go duration (`2s`, `500ms`), as nsq's tools take it (no bare number); must be above zero. */
export function durationValue(argv: readonly string[], parsed: Record<string, unknown>, flag: string, fallbackMs: number): number {
  const text = stringValue(argv, parsed, flag);
  if (text === undefined) return fallbackMs;
  let ms: number;
  try {
    ms = parseGoDurationMs(text);
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`);
  }
  if (ms <= 0) throw new UsageError(`--${flag} must be above zero, got ${JSON.stringify(text)}`);
  return ms;
}

export function checkTopicName(topic: string, flag = 'topic'): string {
  if (!isValidTopicName(topic)) throw new UsageError(`--${flag}: invalid topic name ${JSON.stringify(topic)} (^[.a-zA-Z0-9_-]+(#ephemeral)?$, 1..64 bytes)`);
  return topic;
}

export function checkChannelName(channel: string, flag = 'channel'): string {
  if (!isValidChannelName(channel)) {
    throw new UsageError(`--${flag}: invalid channel name ${JSON.stringify(channel)} (^[.a-zA-Z0-9_-]+(#ephemeral)?$, 1..64 bytes)`);
  }
  return channel;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):(\d{1,5})$/;

/** `host:port` with a port in 1..65535 (TCP addresses take no scheme). */
export function checkHostPort(address: string, flag: string): string {
  const match = HOST_PORT.exec(address);
  if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    throw new UsageError(`--${flag}: expected host:port, got ${JSON.stringify(address)}`);
  }
  return address;
}

/** An HTTP address: `host:port`, or an http(s) URL for servers behind a path or TLS. */
export function checkHttpAddress(address: string, flag: string): string {
  if (/^https?:\/\//i.test(address)) {
    try {
      new URL(address);
      return address;
    } catch {
      throw new UsageError(`--${flag}: invalid URL ${JSON.stringify(address)}`);
    }
  }
  return checkHostPort(address, flag);
}

/** Turns `\n`, `\t`, `\r`, `\0` and `\\` into the characters they name, so a delimiter is easy to type. */
export function unescapeDelimiter(text: string): string {
  return text.replace(/\\([ntr0\\])/g, (_, letter: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\' })[letter]!);
}
