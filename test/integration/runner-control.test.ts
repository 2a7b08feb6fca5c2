/**
 * How a task steers its message, and where what it publishes goes: GiveUpMessage and
 * RequeueMessage thrown from the worker's own copy of the package (a separate module graph, so
 * they are recognised by code), and publish() under --topic-prefix.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, collect, eventually, publish } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

type Ran = { attempts: number; body: string };

describe('control errors thrown by a task', () => {
  it('GiveUpMessage dead-letters the message at once; RequeueMessage retries it', async () => {
    const project = await projects.create();
    await project.writeWorker('jobs', 'run', `
import { appendFile } from 'node:fs/promises';
import { defineWorker, GiveUpMessage, RequeueMessage } from 'nsqworker';
export default defineWorker({
  tasks: {
    async run(message) {
      await appendFile('ran.jsonl', JSON.stringify({ attempts: message.attempts, body: message.text() }) + '\\n');
      if (message.text() === 'hopeless') throw new GiveUpMessage('cannot ever work');
      if (message.text() === 'later' && message.attempts === 1) throw new RequeueMessage(0, false);
      if (message.text() === 'flaky' && message.attempts === 1) throw new Error('not yet');
    },
  },
});
`);
    const run = project.startWorker('jobs', 'run', ['--max-attempts', '5', '--requeue-delay', '100ms']);
    const { tcpAddress, httpAddress } = await run.brokerAddresses();
    await run.subscribed(['run']);
    const deadLetters = collect(projects, tcpAddress, 'jobs.dead_letter');

    await publish(httpAddress, 'jobs', 'hopeless');
    await publish(httpAddress, 'jobs', 'later');
    await publish(httpAddress, 'jobs', 'flaky');
    await eventually(() => (deadLetters.messages.length > 0 ? true : undefined), 'a dead letter');
    const ran = await eventually(async () => {
      const records = await project.records<Ran>('ran.jsonl');
      return ['later', 'flaky'].every((body) => records.filter((r) => r.body === body).length >= 2) ? records : undefined;
    }, 'the requeued messages to run again');

    expect(deadLetters.messages.map((m) => m.json())).toMatchObject([{ body: 'hopeless', attempts: 1, error: 'cannot ever work' }]);
    expect(ran.filter((r) => r.body === 'hopeless').map((r) => r.attempts)).toEqual([1]);
    expect(ran.filter((r) => r.body === 'later').map((r) => r.attempts)).toEqual([1, 2]);
    // Given up by the task itself: a warning with its reason, without the error and its stack.
    expect(run.lines.find((line) => String(line.msg).startsWith('the task gave up on the message'))).toMatchObject({
      level: 40,
      attempts: 1,
      reason: 'cannot ever work',
      msg: 'the task gave up on the message: dead-lettered to topic jobs.dead_letter',
    });
    expect(run.lines.filter((line) => line.err !== undefined && JSON.stringify(line.err).includes('GiveUpMessage'))).toEqual([]);
    // Asked for, not failed: an info line without the error and its stack.
    expect(run.lines.find((line) => String(line.msg).startsWith('message requeued as the task asked'))).toMatchObject({ level: 30, attempts: 1, delayMs: 0, msg: 'message requeued as the task asked, with a 0s delay' });
    expect(run.lines.filter((line) => line.err !== undefined && JSON.stringify(line.err).includes('RequeueMessage'))).toEqual([]);
    // A failure says the REQ's delay (--requeue-delay × attempts), the earliest redelivery, in the line itself.
    expect(run.lines.filter((line) => String(line.msg).startsWith('task failed: message requeued')).map((line) => line.msg)).toEqual([
      'task failed: message requeued with a 100ms delay',
    ]);
  });
});

describe('--topic-prefix', () => {
  it('prefixes the topic consumed, the dead-letter topic and the topics a task publishes to', async () => {
    const project = await projects.create();
    await project.writeWorker('signups', 'welcome', `
import { defineWorker } from 'nsqworker';
export default defineWorker({
  tasks: {
    async welcome(message, context) {
      if (message.text() === 'bad') throw new Error('no address');
      await context.publish('emails', { to: message.text() });
    },
  },
});
`);
    const run = project.startWorker('signups', 'welcome', ['--topic-prefix', 'staging_', '--max-attempts', '1']);
    const { tcpAddress, httpAddress } = await run.brokerAddresses();
    await run.subscribed(['welcome']);
    const staged = collect(projects, tcpAddress, 'staging_emails');
    const deadLetters = collect(projects, tcpAddress, 'staging_signups.dead_letter');

    await publish(httpAddress, 'staging_signups', 'ada@example.com');
    await publish(httpAddress, 'staging_signups', 'bad');
    await eventually(() => (deadLetters.messages.length > 0 ? true : undefined), 'a dead letter on staging_signups.dead_letter');
    await eventually(() => (staged.messages.length > 0 ? true : undefined), 'the published message on staging_emails');
    expect(staged.messages.map((m) => m.json())).toEqual([{ to: 'ada@example.com' }]);
    const topics = (await (await fetch(`http://${httpAddress}/stats?format=json`)).json()) as { topics: { topic_name: string }[] };
    // A staging worker must not write into the unprefixed (production) topic.
    expect(topics.topics.map((t) => t.topic_name)).not.toContain('emails');
  });
});
