/** The error a worker's options give for values from the environment and flags, as a run says it: for message tests. */
import type { z } from 'zod';
import { layerValues, parseLayered } from '../../runner/config/layered-values.ts';
import { fieldsOf } from '../../runner/config/schema-flags.ts';

/** The refusal's message, or 'no error'. */
export function layeredProblem(schema: z.ZodObject, given: { env?: Record<string, string>; flags?: Record<string, unknown> }): string {
  const fields = fieldsOf(schema);
  try {
    parseLayered(schema, fields, layerValues(fields, { env: given.env ?? {}, flags: given.flags ?? {} }), 'options of worker t/c');
  } catch (error) {
    return (error as Error).message;
  }
  return 'no error';
}
