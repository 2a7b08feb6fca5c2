/**
 * A repeated message that a task's dedup queue skips is logged at debug, with its key, the task
 * and the message id: in-process and in the reloadable child of --watch alike.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, eventually, publish } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

const WORKER = `
import { appendFile } from 'node:fs/promises';
import { defineWorker } from 'nsqworker';
export default defineWorker({
  dedupKey: (message) => 'order-' + message.text(),
  tasks: {
    async send(message) {
      await appendFile('sent.jsonl', JSON.stringify({ body: message.text() }) + '\\n');
    },
  },
});
`;

describe('a message skipped by the dedup queue', () => {
  for (const watch of [false, true]) {
    it(`is logged at debug with its key${watch ? ' (--watch)' : ''}`, async () => {
      const p = await projects.create();
      await p.writeWorker('orders', 'email', WORKER);
      const run = p.startWorker('orders', 'email', ['--log-level', 'debug', ...(watch ? ['--watch'] : [])]);
      const { httpAddress } = await run.brokerAddresses();
      await run.subscribed(['send']);
      await publish(httpAddress, 'orders', '42');
      await eventually(async () => ((await p.records('sent.jsonl')).length === 1 ? true : undefined), 'the first message sent');
      await publish(httpAddress, 'orders', '42');
      const line = await run.waitForLine((l) => l.dedupKey === 'order-42', 'the dedup debug line');
      expect(line.level).toBe(20);
      expect(line.task).toBe('send');
      expect(String(line.msg)).toContain('already processed');
      expect(typeof line.messageId).toBe('string');
      expect(await p.records('sent.jsonl')).toHaveLength(1);
    });
  }
});
