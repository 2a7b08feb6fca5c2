/**
 * A wait bounded by time: the value of `promise`, or undefined once `ms` (milliseconds; ≤ 0 is at once,
 * on the next timer turn) have passed first. The timer is cleared as soon as either settles, so a
 * wait that ended early holds nothing. A rejection of `promise` within the time passes through.
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms), undefined)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
