/**
 * Go's decimal parsing as nsqd applies it to command parameters (`protocol.ByteToBase10`) and its
 * millisecond-to-Duration conversion, with Go's wrap-around for huge values.
 */
const DIGITS = /^\d*$/;
/** Up to 12 digits a value is exact as a number, and as nanoseconds (x 1e6) it stays inside int64. */
const SHORT_DIGITS = 12;

/**
 * Go's ByteToBase10: unsigned decimal digits only (an empty string is 0). Short values are numbers;
 * longer ones are the uint64 Go computes, wrapping past 2^64, so huge values get nsqd's answers (and
 * the numbers in its error texts) exactly without costing the common case a bigint.
 */
export function parseBase10(text: string): number | bigint | undefined {
  if (!DIGITS.test(text)) return undefined;
  return text.length <= SHORT_DIGITS ? Number(text || '0') : BigInt.asUintN(64, BigInt(text));
}

/** nsqd's `time.Duration(ms) * time.Millisecond`: int64 nanoseconds, which overflow (even negative) for huge ms. */
export const durationNs = (ms: bigint): bigint => BigInt.asIntN(64, ms * 1_000_000n);
