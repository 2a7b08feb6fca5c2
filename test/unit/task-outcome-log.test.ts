import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../client/message.ts';
import { giveUp, logGiveUp, logRequeue, reject } from '../../runner/ops/task-outcome-log.ts';
import { logConsumerError } from '../../runner/ops/late-answer.ts';

/** A logger at `level` whose lines are parsed into `lines`, synchronously. */
function capture(level = 'info'): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level }, sink), lines };
}

const message = { id: '0a1b2c3d4e5f6a7b', attempts: 2 } as Message;
// Node's own words for `require('node:fs')` in an ES module, thrown where the task calls it.
const requireInModule = new ReferenceError('require is not defined in ES module scope, you can use import instead');

describe('a task that uses require in an ES module worker', () => {
  it('fails each message with the fix beside the error, as the file would fail to load', async () => {
    const { log, lines } = capture();
    logRequeue(log, message, 90_000, requireInModule, false);
    // Inside a task, Node's words are V8's bare ones.
    logGiveUp(log, message, new ReferenceError('require is not defined'), 'dead-lettered to topic orders.dead_letter');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.hint).toMatch(/^the file is an ES module: its package\.json says "type": "module".*or name it \.cts$/);
      expect((line.err as { message: string }).message).toContain('require is not defined');
    }
  });

  it('and no other failure gets that hint', async () => {
    const { log, lines } = capture();
    logRequeue(log, message, 90_000, new ReferenceError('total is not defined'), false);
    logGiveUp(log, message, new Error('card declined'), 'dropped');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => line.hint)).toEqual([undefined, undefined]);
  });
});

describe('giving up on a message', () => {
  const fate = 'dead-lettered to topic orders.dead_letter';

  it('says it was dead-lettered once nsqd took the dead letter, not before', async () => {
    const { log, lines } = capture();
    let accept: () => void = () => {};
    const sent = giveUp(log, message, new Error('card declined'), fate, () => new Promise<void>((resolve) => (accept = resolve)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([]);
    accept();
    await sent;
    expect(lines.map((line) => line.msg)).toEqual([`giving up on message: ${fate}`]);
  });

  it('says a dead letter nsqd refused, and throws so the message is requeued', async () => {
    const { log, lines } = capture();
    const refused = new Error('E_UNAUTHORIZED AUTH failed for PUB on "orders.dead_letter" ""');
    await expect(giveUp(log, message, new Error('card declined'), fate, () => Promise.reject(refused))).rejects.toMatchObject({ name: 'DeadLetterRefused', refusal: refused });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 50,
        msg: `giving up on message, but it could not be ${fate}: E_UNAUTHORIZED AUTH failed for PUB on "orders.dead_letter" ""; it is requeued`,
      }),
    ]);
  });

  it('says the refusal once: the consumer\'s error and the requeue that follow are not said again', async () => {
    const { log, lines } = capture();
    const refused = Object.assign(new Error('E_UNAUTHORIZED AUTH failed for PUB on "orders.dead_letter" ""'), { code: 'E_UNAUTHORIZED' });
    const thrown = await giveUp(log, message, new Error('card declined'), fate, () => Promise.reject(refused)).then(
      () => new Error('not refused'),
      (error: unknown) => error as Error,
    );
    // What the consumer does with a give-up hook that throws: an 'error', then a requeue with no handler error.
    logConsumerError(log, thrown);
    logRequeue(log, message, 100, undefined, false);
    // A later failure of the same message is said as usual.
    logRequeue(log, message, 100, new Error('card declined'), false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => line.msg)).toEqual([
      `giving up on message, but it could not be ${fate}: E_UNAUTHORIZED AUTH failed for PUB on "orders.dead_letter" ""; it is requeued`,
      'task failed: message requeued with a 100ms delay',
    ]);
  });
});

describe('a message rejected for its body', () => {
  const fate = 'dead-lettered to topic orders.dead_letter';

  it('is said to be dead-lettered once nsqd took the dead letter; a refusal is one error line, and thrown', async () => {
    const { log, lines } = capture();
    let accept: () => void = () => {};
    const sent = reject(log, message, 'amount: expected a number', fate, () => new Promise<void>((resolve) => (accept = resolve)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([]);
    accept();
    await sent;
    const refused = new Error('E_UNAUTHORIZED AUTH failed for PUB on "orders.dead_letter" ""');
    await expect(reject(log, message, 'amount: expected a number', fate, () => Promise.reject(refused))).rejects.toMatchObject({ name: 'DeadLetterRefused' });
    logRequeue(log, message, 100, new Error(refused.message), false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      [40, `message rejected: discarded without running the tasks, ${fate}`],
      [50, `message rejected before any task ran, but it could not be ${fate}: ${refused.message}; it is requeued`],
    ]);
  });
});
