import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { messageOnce, serializeError } from '../../runner/ops/log-error.ts';
import { loggerOptions } from '../../runner/ops/log.ts';

describe("a logged error's message", () => {
  it("names a cause the message already says once, where pino's own serializer said it again", () => {
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:4150');
    const error = Object.assign(new Error(`127.0.0.1:4150: ${refused.message}`, { cause: refused }), { code: 'E_CONNECTION_CLOSED' });
    expect((pino.stdSerializers.err(error) as { message: string }).message).toBe('127.0.0.1:4150: connect ECONNREFUSED 127.0.0.1:4150: connect ECONNREFUSED 127.0.0.1:4150');
    expect(serializeError(error)).toMatchObject({ type: 'Error', message: '127.0.0.1:4150: connect ECONNREFUSED 127.0.0.1:4150', code: 'E_CONNECTION_CLOSED' });
  });

  it('still appends a cause the message does not say, through a chain, and stops at a cycle', () => {
    const db = new Error('db down');
    const charge = new Error('charge failed', { cause: new Error('query failed', { cause: db }) });
    expect(messageOnce(charge)).toBe('charge failed: query failed: db down');
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(messageOnce(a)).toBe('a: b');
    // A cause that is not an Error but has a message, as pino follows it; one whose text only
    // appears inside the message, not at its end, is still said.
    expect(messageOnce(new Error('charge failed', { cause: { message: 'card declined' } }))).toBe('charge failed: card declined');
    expect(messageOnce(new Error('error 10', { cause: new Error('1') }))).toBe('error 10: 1');
  });

  it('leaves what is not an Error as pino would', () => {
    const plain = { message: 'task failed', stack: 'Error: task failed\n    at charge (worker.ts:3:9)' };
    expect(serializeError(plain)).toEqual(pino.stdSerializers.err(plain as Error));
    expect(serializeError('a string')).toBe('a string');
  });

  it("is the runner's loggers' err serializer", () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) });
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:4150');
    pino(loggerOptions('info'), sink).warn({ err: new Error(`127.0.0.1:4150: ${refused.message}`, { cause: refused }) }, 'x');
    expect(JSON.parse(lines[0]!).err.message).toBe('127.0.0.1:4150: connect ECONNREFUSED 127.0.0.1:4150');
  });
});
