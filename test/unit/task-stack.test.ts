import { describe, expect, it } from 'vitest';
import { loggedTaskError, taskStack } from '../../runner/ops/task-stack.ts';

const OURS = '/srv/app/node_modules/nsqworker/dist/';
const isOurs = (file: string): boolean => file.startsWith(OURS);

const STACK = [
  'Error: disk full',
  '    at save (/srv/app/lib/store.ts:3:9)',
  '    at Object.store (file:///srv/app/workers/log/log_pageview_worker.ts:6:13)',
  `    at runUnlessSeen (file://${OURS}bundle/chunks/chunk-FJV6TGP4.js:116:44)`,
  '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
  `    at async HandlerRunner.run (file://${OURS}bundle/chunks/chunk-BNQ5PO2C.js:698:21)`,
].join('\n');

describe('taskStack', () => {
  it("ends at the last frame of the user's code, whatever lies between", () => {
    expect(taskStack(STACK, isOurs)).toBe(STACK.split('\n').slice(0, 3).join('\n'));
  });

  it("keeps a frame of ours between the user's (a helper of the package called by the task)", () => {
    const stack = ['Error: x', `    at publish (${OURS}bundle/cli.js:1:1)`, '    at task (/srv/app/workers/a/a_b_worker.ts:2:2)', `    at run (${OURS}bundle/cli.js:9:9)`].join('\n');
    expect(taskStack(stack, isOurs)).toBe(stack.split('\n').slice(0, 3).join('\n'));
  });

  it('keeps a stack with no frame of the user (an error raised on a socket event) whole, and one without frames', () => {
    const ours = ['Error: E_PUB_FAILED', `    at Producer.onFrame (${OURS}bundle/cli.js:1:1)`, '    at Socket.emit (node:events:517:28)'].join('\n');
    expect(taskStack(ours, isOurs)).toBe(ours);
    expect(taskStack('Error: bare', isOurs)).toBe('Error: bare');
  });
});

describe('loggedTaskError', () => {
  it('is the error itself at debug, or with nothing to cut', () => {
    const error = new Error('x');
    expect(loggedTaskError(error, true)).toBe(error);
    expect(loggedTaskError(undefined, false)).toBeUndefined();
  });

  it('copies the class, code and cause, leaving the error as it was', () => {
    class PaymentError extends Error {
      readonly code = 'E_CARD';
    }
    const cause = new Error('timeout');
    const error = new PaymentError('declined', { cause });
    // A stack of the built package: the runner's frames below the task's.
    error.stack = ['PaymentError: declined', '    at pay (/srv/app/workers/p/p_q_worker.ts:1:1)', `    at run (${process.cwd()}/runner/ops/bind.ts:1:1)`].join('\n');
    const original = error.stack;
    const logged = loggedTaskError(error, false);
    expect(logged).not.toBe(error);
    expect(logged).toBeInstanceOf(PaymentError);
    expect(logged).toMatchObject({ message: 'declined', code: 'E_CARD', cause });
    expect(logged.stack).toBe('PaymentError: declined\n    at pay (/srv/app/workers/p/p_q_worker.ts:1:1)');
    expect(error.stack).toBe(original);
  });

  it("cuts its cause's stack too (pino writes it after the error's), leaving the cause as it was", () => {
    const ownFrame = `    at run (${process.cwd()}/runner/ops/bind.ts:1:1)`;
    const cause = new Error('inner');
    cause.stack = ['Error: inner', '    at Object.t (/srv/app/workers/p/p_q_worker.ts:2:2)', ownFrame].join('\n');
    const error = new Error('outer', { cause });
    error.stack = ['Error: outer', '    at Object.t (/srv/app/workers/p/p_q_worker.ts:1:1)'].join('\n');
    const logged = loggedTaskError(error, false);
    expect((logged.cause as Error).stack).toBe('Error: inner\n    at Object.t (/srv/app/workers/p/p_q_worker.ts:2:2)');
    expect(logged.stack).toBe(error.stack);
    expect(cause.stack).toContain(ownFrame);
    expect(loggedTaskError(error, true)).toBe(error);
    // A cause that leads back to the error ends, as pino's serializer does.
    const loop = new Error('loop');
    loop.stack = ['Error: loop', '    at Object.t (/srv/app/workers/p/p_q_worker.ts:3:3)', ownFrame].join('\n');
    loop.cause = loop;
    expect(loggedTaskError(loop, false).stack).toBe('Error: loop\n    at Object.t (/srv/app/workers/p/p_q_worker.ts:3:3)');
  });
});
