/**
 * An option the schema requires and nobody gave is said to be required, whatever its kind: zod's
 * words alone ("expected a string", "expected one of", "Invalid input") read as a wrong value.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { layerValues, parseLayered } from '../../runner/config/layered-values.ts';
import { fieldsOf } from '../../runner/config/schema-flags.ts';

function problem(schema: z.ZodObject, env: Record<string, string> = {}): string {
  const fields = fieldsOf(schema);
  try {
    parseLayered(schema, fields, layerValues(fields, { env, flags: {} }), 'options of worker t/c');
  } catch (error) {
    return (error as Error).message;
  }
  return 'no error';
}

describe('a required option given nowhere', () => {
  it('is named as required, for a string, an enum, a union and a literal', () => {
    expect(problem(z.object({ host: z.string() }))).toBe('invalid options of worker t/c: --host (NSQWORKER_HOST) is required and not given (expected a string)');
    expect(problem(z.object({ mode: z.enum(['a', 'b']) }))).toMatch(/^invalid options of worker t\/c: --mode \(NSQWORKER_MODE\) is required and not given \(/);
    expect(problem(z.object({ port: z.union([z.number(), z.string()]) }))).toMatch(/--port \(NSQWORKER_PORT\) is required and not given \(/);
    expect(problem(z.object({ on: z.literal(true) }))).toMatch(/--on \(NSQWORKER_ON\) is required and not given \(/);
  });

  it('is not, once given with a value the schema refuses: that value is named where it was given', () => {
    expect(problem(z.object({ mode: z.enum(['a', 'b']) }), { NSQWORKER_MODE: 'c' })).toMatch(/^NSQWORKER_MODE "c": expected one of/);
  });
});
