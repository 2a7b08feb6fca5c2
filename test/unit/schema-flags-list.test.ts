/**
 * An array option given on the command line or in the environment: text split at commas and
 * repeated flags joined, each element converted to the array's element kind; elements that are
 * objects written as JSON, a whole JSON array or one object per value, their commas left to JSON.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatValue } from '../../runner/config/layered-values.ts';
import { coerce, fieldsOf } from '../../runner/config/schema-flags.ts';
import { layeredProblem } from '../support/layered-problem.ts';
import { describeExpected, type SchemaLike } from '../../runner/config/expectation.ts';

const fields = fieldsOf(
  z.object({
    tags: z.array(z.string()).default([]),
    ids: z.array(z.number().int()).default([]),
    switches: z.array(z.boolean()).optional(),
    modes: z.array(z.enum(['fast', 'safe'])).optional(),
    items: z.array(z.object({ sku: z.string(), qty: z.number() })).optional(),
    pairs: z.array(z.array(z.number())).optional(),
    points: z.array(z.tuple([z.string(), z.number()])).optional(),
    shapes: z.array(z.discriminatedUnion('kind', [z.object({ kind: z.literal('a'), r: z.number() }), z.object({ kind: z.literal('b') })])).optional(),
    orders: z.array(z.object({ id: z.number(), lines: z.array(z.object({ sku: z.string() })) })).optional(),
    ports: z.array(z.union([z.literal(80), z.literal(443)])).optional(),
    sizes: z.array(z.union([z.number().int(), z.number().min(0.5)])).optional(),
    flags: z.array(z.literal(true)).optional(),
    limits: z.array(z.number().nullable()).optional(),
    widths: z.array(z.union([z.number(), z.literal('auto')])).optional(),
    labels: z.array(z.union([z.string(), z.boolean()])).optional(),
    zips: z.array(z.union([z.number(), z.string()])).optional(),
  }),
);
const field = (key: string) => fields.find((each) => each.key === key)!;
const given = (key: string, raw: unknown): unknown => coerce(field(key), raw, `--${field(key).flag}`);

describe('an array option', () => {
  it('of strings (an enum among them) splits at commas and joins repeated flags', () => {
    expect(given('tags', 'a, b,,c')).toEqual(['a', 'b', 'c']);
    expect(given('tags', ['a,b', 'c'])).toEqual(['a', 'b', 'c']);
    expect(given('modes', 'fast,safe')).toEqual(['fast', 'safe']);
  });

  it('of numbers and booleans converts each word, leaving one that does not convert for the schema to name', () => {
    expect(given('ids', '1,2 ,-3')).toEqual([1, 2, -3]);
    // cac hands a lone number over as a number.
    expect(given('ids', [4, '5,6'])).toEqual([4, 5, 6]);
    expect(given('ids', '1,x')).toEqual([1, 'x']);
    expect(given('switches', 'true,no,1,maybe')).toEqual([true, false, true, 'maybe']);
    expect(given('switches', 'on,OFF')).toEqual([true, false]);
  });

  it('of number literals, or a union of number schemas, converts each word as for numbers; booleans too', () => {
    expect(given('ports', '80,443')).toEqual([80, 443]);
    expect(given('sizes', '1,2.5')).toEqual([1, 2.5]);
    expect(given('flags', 'true')).toEqual([true]);
    expect(field('ports').elementKind).toBe('number');
    // Nullable numbers: a word is a number, as for numbers.
    expect(given('limits', '1,2')).toEqual([1, 2]);
  });

  it('of a union of numbers and words converts the words that are numbers, and keeps the others', () => {
    expect(given('widths', '1,auto, 2.5')).toEqual([1, 'auto', 2.5]);
    expect(field('widths').elementKind).toBe('number-or-word');
    // Any other mix stays words, and so does a number beside a free string ("02134" is a word there).
    expect(given('labels', 'true,x')).toEqual(['true', 'x']);
    expect(given('zips', '02134,1e3')).toEqual(['02134', '1e3']);
  });

  it('of one value, a union of a number and fixed words converts a number too', () => {
    const [width, code] = fieldsOf(z.object({ width: z.union([z.number(), z.literal('auto')]).default('auto'), code: z.union([z.number(), z.string()]).optional() }));
    expect(coerce(width!, '3', '--width')).toBe(3);
    expect(coerce(width!, 'auto', '--width')).toBe('auto');
    expect(coerce(code!, '007', '--code')).toBe('007');
  });

  it('names a broken JSON array of numbers as one, not by its first word', () => {
    expect(() => given('ids', '[1, 2')).toThrow(/^--ids "\[1, 2": expected an array of numbers: values separated by commas, or a JSON array \(/);
  });

  it('takes a JSON array whole, of any element kind', () => {
    expect(given('ids', '[1, 2]')).toEqual([1, 2]);
    expect(given('tags', '["a,b", "c"]')).toEqual(['a,b', 'c']);
    expect(given('pairs', '[[1,2],[3]]')).toEqual([[1, 2], [3]]);
    // Text that starts with [ but is no JSON array of words is words, as before: a pattern, say.
    expect(given('tags', '[0-9]+,x')).toEqual(['[0-9]+', 'x']);
    expect(given('tags', '[0]')).toEqual(['[0]']);
  });

  it('of objects takes a JSON array, or one object per value, and never splits JSON at its commas', () => {
    expect(given('items', '[{"sku":"a","qty":1},{"sku":"b","qty":2}]')).toEqual([
      { sku: 'a', qty: 1 },
      { sku: 'b', qty: 2 },
    ]);
    expect(given('items', ['{"sku":"a","qty":1}', '[{"sku":"b","qty":2}]'])).toEqual([
      { sku: 'a', qty: 1 },
      { sku: 'b', qty: 2 },
    ]);
  });

  it('of arrays and tuples takes one per value or a JSON array of them; of a union with objects, objects', () => {
    expect(given('pairs', ['[1,2]', '[3]'])).toEqual([[1, 2], [3]]);
    expect(given('points', ['["a",1]', '[["b",2],["c",3]]'])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    expect(given('shapes', ['{"kind":"a","r":1}', '{"kind":"b"}'])).toEqual([{ kind: 'a', r: 1 }, { kind: 'b' }]);
    expect(field('points').expected).toBe('a JSON array of arrays, or one array as JSON per value');
  });

  it("of objects refuses a key dropped in an object of an array inside them, by its path", () => {
    expect(() => given('orders', '{"id":1,"lines":[{"sku":"a"},{"sku":"b","skuu":"c"}]}')).toThrow('"lines.1.skuu" is not among lines.1\'s keys (sku); did you mean sku?');
  });

  it('is shown by --help and list as written: words joined, anything else as JSON', () => {
    expect(formatValue(field('ids'), [1, 2])).toBe('1,2');
    expect(formatValue(field('tags'), ['a,b', 'c'])).toBe('["a,b","c"]');
    expect(formatValue(field('items'), [{ sku: 'a', qty: 1 }])).toBe('[{"sku":"a","qty":1}]');
    expect(formatValue(field('pairs'), [[1, 2], [3]])).toBe('[[1,2],[3]]');
  });

  it('of objects names the value that is not JSON, and a key its objects would drop', () => {
    expect(() => given('items', ['{"sku":"a","qty":1}', '[{"sku":"b",'])).toThrow(
      '--items "[{\\"sku\\":\\"b\\",": expected a JSON array of objects, or one object as JSON per value',
    );
    expect(() => given('items', '[{"sku":"a","qty":1,"qtty":2}]')).toThrow('"qtty" is not among its keys (sku, qty); did you mean qty?');
  });
});

describe("an array option's element the schema refuses", () => {
  it('is named by itself where it was given, and by its key inside an object', () => {
    const schema = z.object({
      ids: z.array(z.number()).default([]),
      items: z.array(z.object({ sku: z.string(), qty: z.number() })).default([]),
      widths: z.array(z.union([z.number().int().min(1), z.literal('auto')])).default([]),
    });
    const problem = (flags: Record<string, unknown>): string => layeredProblem(schema, { flags });
    expect(problem({ ids: '1,x' })).toContain('--ids "x": expected a number');
    expect(problem({ items: '[{"sku":"a","qty":"1"}]' })).toContain('--items {"sku":"a","qty":"1"}: qty: expected a number');
    // A union said by its options, not zod's "Invalid input"; one of objects keeps zod's words.
    expect(problem({ widths: '2,wide' })).toContain('--widths "wide": expected a whole number of at least 1 or "auto"');
    expect(describeExpected(z.union([z.object({ a: z.number() }), z.object({ b: z.string() })]) as unknown as SchemaLike)).toBeUndefined();
  });
});
