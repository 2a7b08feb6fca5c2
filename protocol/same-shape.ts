/**
 * True when A and B accept exactly the same values and name the same fields: a compile-time check that
 * a documented options interface is its zod schema's input, field for field (client/options.ts,
 * broker/nsqd/options.ts).
 */
export type SameShape<A, B> = [A] extends [B]
  ? [B] extends [A]
    ? [keyof A] extends [keyof B]
      ? [keyof B] extends [keyof A]
        ? true
        : false
      : false
    : false
  : false;
