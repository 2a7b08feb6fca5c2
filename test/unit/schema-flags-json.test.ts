/**
 * An object option given as JSON (a flag's or a variable's value): a key its z.object would drop,
 * at any depth, is refused with the keys it has there and the nearest; loose and strict objects and
 * records keep their own rules.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { coerce, fieldsOf } from '../../runner/config/schema-flags.ts';

const fields = fieldsOf(
  z.object({
    limits: z.object({ max: z.number().default(1), inner: z.object({ limit: z.number() }).optional() }).default({ max: 1 }),
    empty: z.object({}).optional(),
    loose: z.looseObject({ a: z.number() }).optional(),
    counts: z.record(z.string(), z.number()).optional(),
  }),
);
const field = (key: string) => fields.find((each) => each.key === key)!;
const given = (key: string, json: string): unknown => coerce(field(key), json, `--${field(key).flag}`);

describe('a JSON object option', () => {
  it('takes the keys its object has, at every depth', () => {
    expect(given('limits', '{"max":2,"inner":{"limit":1}}')).toEqual({ max: 2, inner: { limit: 1 } });
  });

  it('refuses a key its object would drop, at the top and inside, naming the nearest', () => {
    expect(() => given('limits', '{"mx":3}')).toThrow('--limits "{\\"mx\\":3}": expected an object as JSON, such as {"max":1}: "mx" is not among its keys (max, inner); did you mean max?');
    expect(() => given('limits', '{"max":2,"inner":{"limit":1,"limt":2}}')).toThrow('"inner.limt" is not among inner\'s keys (limit); did you mean limit?');
    expect(() => given('empty', '{"y":1}')).toThrow('"y" is not among its keys (it takes none)');
    // A key named as an object's own members is a key like any other.
    expect(() => given('limits', '{"max":1,"constructor":{}}')).toThrow('"constructor" is not among its keys (max, inner)');
    expect(() => given('limits', '{"toString":1}')).toThrow('"toString" is not among its keys (max, inner)');
  });

  it('leaves a loose object and a record their other keys', () => {
    expect(given('loose', '{"a":1,"b":2}')).toEqual({ a: 1, b: 2 });
    expect(given('counts', '{"x":1}')).toEqual({ x: 1 });
  });
});
