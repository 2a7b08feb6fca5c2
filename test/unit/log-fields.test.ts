/**
 * A runner logger's fields (runner/worker/log-fields.ts): each key written once per JSON line,
 * whatever the line, a child or setBindings gives.
 */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { childWithFields, logFieldsMixin, mergeLineIntoFields } from '../../runner/worker/log-fields.ts';

/** A logger as createLogger makes it, writing into `lines`. */
function capture(options: pino.LoggerOptions = { mixin: logFieldsMixin, mixinMergeStrategy: mergeLineIntoFields }): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  return { log: pino({ name: 'test', ...options }, sink), lines };
}

/** How many times each key is written in a JSON line. */
function keyCounts(line: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of line.matchAll(/[{,]"([^"]+)":/g)) counts[match[1]!] = (counts[match[1]!] ?? 0) + 1;
  return counts;
}

function expectEachKeyOnce(line: string): void {
  expect(Object.values(keyCounts(line)).every((count) => count === 1), line).toBe(true);
}

describe('childWithFields', () => {
  const taskLog = (log: Logger): Logger => childWithFields(childWithFields(log, { topic: 'orders' }), { channel: 'billing', task: 'bill', messageId: 'a1', attempts: 1 });

  it("writes a field the line repeats once, with the line's value; undefined keeps the field's", () => {
    const { log, lines } = capture();
    const task = taskLog(log);
    task.info('plain');
    task.info({ attempts: 9, topic: 'mine', extra: 1 }, 'repeats');
    task.info({ attempts: undefined }, 'undefined');
    task.error(new Error('boom'));
    for (const line of lines) expectEachKeyOnce(line);
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([
      { topic: 'orders', channel: 'billing', task: 'bill', messageId: 'a1', attempts: 1, msg: 'plain' },
      { topic: 'mine', channel: 'billing', task: 'bill', messageId: 'a1', attempts: 9, extra: 1, msg: 'repeats' },
      { topic: 'orders', attempts: 1, msg: 'undefined' },
      { topic: 'orders', attempts: 1, msg: 'boom', err: { message: 'boom' } },
    ]);
  });

  it("takes a child's or setBindings' binding of a field as the field's new value; bindings() lists the fields", () => {
    const { log, lines } = capture();
    const task = taskLog(log);
    const child = task.child({ attempts: 7, request: 'r1' });
    child.info({ attempts: 8 }, 'child repeats');
    child.child({ task: 'other' }).info('grandchild');
    task.info('parent unchanged');
    task.child({ attempts: undefined }).info('child undefined');
    expect(() => task.child(undefined as unknown as object)).toThrow('missing bindings for child Pino');
    const set = task.child({});
    set.setBindings({ messageId: 'b2', user: 'u' });
    set.info({ messageId: undefined }, 'set');
    for (const line of lines) expectEachKeyOnce(line);
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([
      { attempts: 8, request: 'r1', task: 'bill', msg: 'child repeats' },
      { attempts: 7, request: 'r1', task: 'other', msg: 'grandchild' },
      { attempts: 1, task: 'bill', msg: 'parent unchanged' },
      { attempts: 1, msg: 'child undefined' },
      { messageId: 'b2', user: 'u', msg: 'set' },
    ]);
    expect(child.bindings()).toEqual({ name: 'test', request: 'r1', topic: 'orders', channel: 'billing', task: 'bill', messageId: 'a1', attempts: 7 });
  });

  it("gives a logger that is not the runner's the fields as plain bindings", () => {
    const { log, lines } = capture({});
    taskLog(log).info('plain');
    expect(JSON.parse(lines[0]!)).toMatchObject({ topic: 'orders', channel: 'billing', task: 'bill', messageId: 'a1', attempts: 1 });
  });
});
