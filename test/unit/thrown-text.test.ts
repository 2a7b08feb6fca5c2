/**
 * What was thrown, in words (protocol/thrown-text.ts), and a handler's failure that is no Error
 * (client/errors.ts coerceError): what the object holds, not `[object Object]`, and no second
 * throw for an object String() cannot convert.
 */
import { describe, expect, it } from 'vitest';
import { coerceError } from '../../client/errors.ts';
import { thrownText } from '../../protocol/thrown-text.ts';

describe('thrownText', () => {
  it('says primitives as String() does, an Error by its message, and an object by what it holds', () => {
    expect([thrownText('out of paper'), thrownText(42), thrownText(null), thrownText(undefined), thrownText(Symbol('x')), thrownText(10n)]).toEqual(['out of paper', '42', 'null', 'undefined', 'Symbol(x)', '10']);
    expect(thrownText(new RangeError('too far'))).toBe('too far');
    expect(thrownText({ code: 1, reason: 'db down' })).toBe("{ code: 1, reason: 'db down' }");
    expect(thrownText([1, 2])).toBe('[ 1, 2 ]');
  });

  it('never throws: an object with no prototype, a throwing toString, a cycle, a huge value', () => {
    const bare = Object.assign(Object.create(null) as object, { code: 'E_BARE' });
    expect(() => String(bare)).toThrow(TypeError);
    expect(thrownText(bare)).toBe("[Object: null prototype] { code: 'E_BARE' }");
    const hostile = { toString: (): string => { throw new Error('no'); } };
    expect(thrownText(hostile)).toContain('toString');
    const cycle: Record<string, unknown> = { name: 'loop' };
    cycle.self = cycle;
    expect(thrownText(cycle)).toBe("<ref *1> { name: 'loop', self: [Circular *1] }");
    expect(thrownText({ big: 'x'.repeat(10_000), list: Array.from({ length: 1000 }, (_, i) => i) }).length).toBeLessThan(400);
  });

  it("makes a handler's failure that is no Error an E_HANDLER_FAILED naming what it was", () => {
    expect(coerceError({ code: 1, reason: 'db down' })).toMatchObject({ code: 'E_HANDLER_FAILED', message: "non-error thrown: { code: 1, reason: 'db down' }" });
    expect(coerceError(Object.create(null))).toMatchObject({ code: 'E_HANDLER_FAILED', message: 'non-error thrown: [Object: null prototype] {}' });
  });
});
