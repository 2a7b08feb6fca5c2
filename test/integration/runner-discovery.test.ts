/**
 * The runner finds workers by file convention and runs them, as a user runs them: the real
 * bin/nsqworker.js in a fixture project, an embedded broker on free ports, messages published over
 * HTTP, and tasks that append what they saw to a file in the project.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, eventually, publish } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

/** A class-form worker: every `xTask` method is a task; each appends what it saw to ran.jsonl. */
const CLASS_WORKER = `
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import { Worker, type TaskContext, type WorkerMessage } from 'nsqworker';

const options = z.object({
  greeting: z.string().default('hello').describe('what the record task writes beside each body'),
  pauseMs: z.number().int().min(0).default(1500).describe('pause between batches'),
});

export default class RecordWorker extends Worker<typeof options> {
  static override options = options;
  async recordTask(message: WorkerMessage, context: TaskContext) {
    const line = { task: context.task, topic: context.topic, channel: context.channel, body: message.text(), greeting: this.options.greeting };
    await appendFile('ran.jsonl', JSON.stringify(line) + '\\n');
  }
}
`;

/** A defineWorker-form worker with two tasks. */
const DEFINED_WORKER = `
import { appendFile } from 'node:fs/promises';
import { defineWorker } from 'nsqworker';

export default defineWorker({
  tasks: {
    async welcome(message, context) {
      await appendFile('ran.jsonl', JSON.stringify({ task: context.task, topic: context.topic, channel: context.channel, body: message.text() }) + '\\n');
    },
    async audit(message, context) {
      await appendFile('ran.jsonl', JSON.stringify({ task: context.task, topic: context.topic, channel: context.channel, body: message.text() }) + '\\n');
    },
  },
});
`;

type Ran = { task: string; topic: string; channel: string; body: string; greeting?: string };

describe('workers found by convention', () => {
  it('runs a class-form worker: its xTask method on the channel itself', async () => {
    const project = await projects.create();
    await project.writeWorker('clicks', 'record', CLASS_WORKER);
    const run = project.startWorker('clicks', 'record');
    const { httpAddress } = await run.brokerAddresses();
    const running = await run.waitForMessage('worker clicks/record running');
    expect(running.channels).toEqual({ record: 'record' });
    await run.subscribed(['record']);

    await publish(httpAddress, 'clicks', 'first click');
    const ran = await eventually(async () => {
      const records = await project.records<Ran>('ran.jsonl');
      return records.length >= 1 ? records : undefined;
    }, 'the record task to run');
    expect(ran).toEqual([{ task: 'record', topic: 'clicks', channel: 'record', body: 'first click', greeting: 'hello' }]);
  });

  it('runs a defineWorker-form worker named with underscores: every task on its own channel', async () => {
    const project = await projects.create();
    // Topic user_events, channel signup: the topic is the folder, the channel what lies between.
    await project.writeWorker('user_events', 'signup', DEFINED_WORKER);
    const run = project.startWorker('user_events', 'signup');
    const { httpAddress } = await run.brokerAddresses();
    const running = await run.waitForMessage('worker user_events/signup running');
    expect(running.channels).toEqual({ audit: 'signup.audit', welcome: 'signup.welcome' });
    await run.subscribed(['audit', 'welcome']);

    await publish(httpAddress, 'user_events', 'ada');
    const ran = await eventually(async () => {
      const records = await project.records<Ran>('ran.jsonl');
      return records.length >= 2 ? records : undefined;
    }, 'both tasks to run');
    expect(ran.sort((a, b) => a.task.localeCompare(b.task))).toEqual([
      { task: 'audit', topic: 'user_events', channel: 'signup.audit', body: 'ada' },
      { task: 'welcome', topic: 'user_events', channel: 'signup.welcome', body: 'ada' },
    ]);
  });

  it('runs the right worker beside a sibling with a syntax error, and `list` reports the broken one', async () => {
    const project = await projects.create();
    await project.writeWorker('orders', 'paid', CLASS_WORKER);
    await project.writeWorker('orders', 'broken', 'export default class {{{ not typescript\n');
    // Files that do not fit the pattern are ignored, not reported.
    await project.write('workers/orders/helpers.ts', 'export const x = ;\n');

    const run = project.startWorker('orders', 'paid', ['--greeting', 'hi']);
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['record']);
    await publish(httpAddress, 'orders', 'order 1');
    const ran = await eventually(async () => {
      const records = await project.records<Ran>('ran.jsonl');
      return records.length >= 1 ? records : undefined;
    }, 'the paid worker to run');
    expect(ran).toEqual([{ task: 'record', topic: 'orders', channel: 'paid', body: 'order 1', greeting: 'hi' }]);

    const listed = await project.run(['list']);
    expect(listed.code, listed.stderr).toBe(2);
    const lines = listed.stdout.split('\n');
    const broken = lines.find((line) => line.startsWith('orders/broken'));
    expect(broken).toBeDefined();
    expect(broken).toContain(project.path('workers/orders/orders_broken_worker.ts'));
    expect(broken).toMatch(/FAILED TO LOAD/);
    // The parser's own complaint is passed on, so the user sees what is wrong.
    expect(broken).toMatch(/Expected|Unexpected|error/i);
    const paidAt = lines.findIndex((line) => line.startsWith('orders/paid'));
    expect(lines[paidAt]).toContain('tasks: record');
    // Relative to the folder it runs in, as a run names files.
    expect(lines[paidAt]).toContain('(workers/orders/orders_paid_worker.ts)');
    expect(lines[paidAt + 1]).toMatch(/--greeting <string> \(default: "hello"\)\s+what the record task writes beside each body/);
    // A duration's default as --help shows it and the flag reads it.
    expect(lines[paidAt + 2]).toMatch(/--pause <duration> \(default: 1\.5s\)\s+pause between batches/);
    expect(listed.stdout).not.toContain('helpers.ts');
  });

  it("keeps an ephemeral channel's tasks ephemeral: #ephemeral ends each task's channel name", async () => {
    const project = await projects.create();
    await project.writeWorker('user_events', 'live#ephemeral', DEFINED_WORKER);
    const run = project.startWorker('user_events', 'live#ephemeral');
    const running = await run.waitForMessage('worker user_events/live#ephemeral running');
    expect(running.channels).toEqual({ audit: 'live.audit#ephemeral', welcome: 'live.welcome#ephemeral' });
    await run.subscribed(['audit', 'welcome']);
  });
});
