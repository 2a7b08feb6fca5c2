/**
 * The types defineWorker gives a worker's tasks, checked by `npm run typecheck` (tsc reads this file
 * as it reads every test): a type that went wrong fails the type check, and each run also passes
 * the definitions through defineWorker, which must keep them as they are.
 */
import { z } from 'zod';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineWorker, type WorkerMessage } from '../../runner/worker/worker.ts';

const body = z.object({ orderId: z.string(), total: z.number().optional() });
const options = z.object({ from: z.string().default('x') });

describe("defineWorker's types", () => {
  it('give the tasks the body schema\'s output, and the options schema\'s', () => {
    const worker = defineWorker({
      options,
      body,
      tasks: {
        ship(message, context) {
          expectTypeOf(message.data).toEqualTypeOf<{ orderId: string; total?: number | undefined }>();
          expectTypeOf(context.options.from).toEqualTypeOf<string>();
          // @ts-expect-error -- not in the body schema
          void message.data.nope;
        },
      },
    });
    expect(Object.keys(worker.tasks)).toEqual(['ship']);
  });

  it('give the tasks and dedupKey what preprocess returns, as message.data holds at run time', () => {
    const worker = defineWorker({
      body,
      preprocess(message) {
        return { id: message.data.orderId.toUpperCase() };
      },
      dedupKey: (message) => message.data.id,
      tasks: {
        ship(message) {
          expectTypeOf(message.data).toEqualTypeOf<{ id: string }>();
          // @ts-expect-error -- preprocess replaced the body's data
          void message.data.orderId;
        },
      },
    });
    expect(worker.dedupKey?.({ data: { id: 'O1' } } as WorkerMessage<{ id: string }>)).toBe('O1');
  });

  it('an async preprocess as a sync one; one that returns nothing leaves the body\'s type, one that may return nothing gives either', () => {
    defineWorker({
      body,
      async preprocess(message) {
        return { cents: Math.round((message.data.total ?? 0) * 100) };
      },
      tasks: { bill: (message) => { expectTypeOf(message.data).toEqualTypeOf<{ cents: number }>(); } },
    });
    defineWorker({
      body,
      preprocess(message) {
        message.data.orderId = message.data.orderId.trim();
      },
      tasks: { ship: (message) => { expectTypeOf(message.data.orderId).toEqualTypeOf<string>(); } },
    });
    defineWorker({
      body,
      preprocess(message) {
        if (message.data.total === undefined) return undefined;
        return { total: message.data.total };
      },
      tasks: { ship: (message) => { expectTypeOf(message.data).toEqualTypeOf<{ total: number } | { orderId: string; total?: number | undefined }>(); } },
    });
  });

  it('a preprocess written after the tasks compiles, the tasks seeing message.data as unknown; one that returns any gives any', () => {
    defineWorker({
      body,
      tasks: {
        ship(message) {
          expectTypeOf(message.data).toEqualTypeOf<unknown>();
        },
      },
      dedupKey: (message) => message.id,
      preprocess(message) {
        return { url: message.data.orderId };
      },
    });
    defineWorker({
      body,
      preprocess(message): any {
        return JSON.parse(message.data.orderId);
      },
      tasks: { ship: (message) => { expectTypeOf(message.data).toBeAny(); } },
    });
  });

  it('without a body, message.data is unknown', () => {
    defineWorker({ tasks: { any: (message) => { expectTypeOf(message.data).toEqualTypeOf<unknown>(); } } });
  });
});
