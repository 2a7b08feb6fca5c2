/**
 * What the runner does with each message, seen from outside: one channel per task, retries on the
 * failing task's channel only, dead letters in their JSON envelope, dedup by the worker's key,
 * messages rejected by the body schema or by validate, and publish() from a task.
 */
import { describe, expect } from 'vitest';
import { startBroker } from '../../broker/nsqd/server.ts';
import { brokerStats, collect, eventually, publish, type BrokerStats } from './helpers/cli-project.ts';
import { cliTest } from './helpers/cli-test.ts';


type Ran = { task: string; id: string; attempts: number; body: string };

const RECORD = `async function record(message, context) {
  await appendFile('ran.jsonl', JSON.stringify({ task: context.task, id: message.id, attempts: message.attempts, body: message.text() }) + '\\n');
}`;

function channelOf(stats: BrokerStats, topic: string, channel: string) {
  return stats.topics.find((t) => t.topic_name === topic)?.channels.find((c) => c.channel_name === channel);
}

/** Waits until a channel has seen `count` messages and holds none (all finished). */
async function drained(httpAddress: string, topic: string, channel: string, count: number) {
  return eventually(async () => {
    const c = channelOf(await brokerStats(httpAddress), topic, channel);
    return c !== undefined && c.message_count >= count && c.depth === 0 && c.in_flight_count === 0 && c.deferred_count === 0 ? c : undefined;
  }, `${topic}/${channel} to finish ${count} messages`);
}

describe.concurrent('a worker with several tasks', () => {
  cliTest('runs each on its own channel; a failing task is retried there only, then dead-lettered in an envelope', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('payments', 'settle', `
import { appendFile } from 'node:fs/promises';
import { defineWorker } from 'nsqworker';
${RECORD}
export default defineWorker({
  tasks: {
    async ledger(message, context) {
      await record(message, context);
    },
    async notify(message, context) {
      await record(message, context);
      // Keys the runner gives each of a task's lines too: each written once, the task's value kept.
      context.log.warn({ attempts: message.attempts * 10, topic: 'mail', extra: 1, name: 'ann' }, 'mail server check');
      throw new Error('mail server down');
    },
  },
});
`);
    const run = project.startWorker('payments', 'settle', ['--max-attempts', '3']);
    const { tcpAddress, httpAddress } = await run.brokerAddresses();
    await run.subscribed(['ledger', 'notify']);
    const channels = channelOf(await brokerStats(httpAddress), 'payments', 'settle.ledger');
    expect(channels).toBeDefined();
    expect((await brokerStats(httpAddress)).topics.find((t) => t.topic_name === 'payments')?.channels.map((c) => c.channel_name).sort()).toEqual([
      'settle.ledger',
      'settle.notify',
    ]);

    const deadLetters = collect(projects, tcpAddress, 'payments.dead_letter');
    const originals = collect(projects, tcpAddress, 'payments', 'copy');
    await eventually(async () => channelOf(await brokerStats(httpAddress), 'payments', 'copy'), 'the copy channel');
    await publish(httpAddress, 'payments', '{"amount":42}');
    await eventually(() => (deadLetters.messages.length > 0 ? true : undefined), 'a dead letter');

    const ran = await project.records<Ran>('ran.jsonl');
    const ledger = ran.filter((r) => r.task === 'ledger');
    const notify = ran.filter((r) => r.task === 'notify');
    expect(ledger.map((r) => r.attempts)).toEqual([1]);
    expect(notify.map((r) => r.attempts)).toEqual([1, 2, 3]);
    const id = ledger[0]!.id;
    expect(new Set(notify.map((r) => r.id))).toEqual(new Set([id]));

    expect(deadLetters.messages).toHaveLength(1);
    const givenUp = await run.waitForMessage('giving up on message: dead-lettered to topic payments.dead_letter');
    expect(givenUp.attempts).toBe(3);
    // The stack ends at the task's own frame: the runner's and the client's below it are left out.
    const stack = (givenUp.err as { stack: string }).stack.split('\n');
    expect(stack[0]).toBe('Error: mail server down');
    expect(stack.at(-1)).toMatch(/^ {4}at .*payments_settle_worker\.ts:\d+:\d+\)?$/);
    const failed = run.lines.find((line) => String(line.msg).startsWith('task failed: message requeued'));
    const logged = run.text.filter((line) => line.includes('"mail server check"'));
    expect(logged).toHaveLength(3);
    // pino's own name too: a signup's name, say, is written once, over the logger's.
    for (const line of logged) for (const key of ['topic', 'channel', 'task', 'messageId', 'attempts', 'extra', 'name']) expect(line.split(`"${key}":`), line).toHaveLength(2);
    expect(JSON.parse(logged[2]!)).toMatchObject({ topic: 'mail', channel: 'settle.notify', task: 'notify', messageId: id, attempts: 30, extra: 1, name: 'ann' });
    expect(JSON.parse(run.text.find((line) => line.includes('"subscribed"'))!)).toMatchObject({ name: 'nsqworker' });
    expect((failed?.err as { stack: string } | undefined)?.stack).toBe(stack.join('\n'));
    const envelope = deadLetters.messages[0]!.json<Record<string, unknown>>();
    expect(envelope).toMatchObject({
      topic: 'payments',
      channel: 'settle.notify',
      task: 'notify',
      message_id: id,
      attempts: 3,
      error: 'mail server down',
      body: '{"amount":42}',
    });
    // nsqd's nanoseconds pass 2^53: the envelope carries them as exact digits, and milliseconds beside.
    const original = await eventually(() => originals.messages.find((message) => message.id === id), 'the original on the copy channel');
    const timestampDigits = /"timestamp":(\d+),/.exec(deadLetters.messages[0]!.text())?.[1];
    expect(timestampDigits).toBe(original.exactTimestampNs.toString());
    expect(envelope.timestamp_ms).toBe(Number(original.exactTimestampNs / 1_000_000n));

    // The broker agrees: the ledger channel finished its message once, without a requeue.
    const ledgerChannel = await drained(httpAddress, 'payments', 'settle.ledger', 1);
    expect(ledgerChannel).toMatchObject({ message_count: 1, requeue_count: 0 });
    const notifyChannel = await drained(httpAddress, 'payments', 'settle.notify', 1);
    expect(notifyChannel.requeue_count).toBe(2);
  });
});

describe.concurrent('a backlog waiting before the first start', () => {
  cliTest('reaches every task, not only the one that subscribed first', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('visits', 'count', `
import { appendFile } from 'node:fs/promises';
import { defineWorker } from 'nsqworker';
${RECORD}
export default defineWorker({ tasks: { daily: record, total: record } });
`);
    // Messages published to the topic before any worker ran: the topic has no channel yet.
    const dataPath = project.path('data');
    const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath });
    for (const n of [1, 2, 3]) await publish(broker.httpAddress, 'visits', String(n));
    await broker.close();

    const run = project.startWorker('visits', 'count', ['--data-path', dataPath]);
    await run.subscribed(['daily', 'total']);
    const ran = await eventually(async () => {
      const records = await project.records<Ran>('ran.jsonl');
      return records.length >= 6 ? records : undefined;
    }, 'both tasks to process the three messages', 10_000).catch(async (error: Error) => {
      throw new Error(`${error.message}; ran: ${JSON.stringify(await project.records('ran.jsonl'))}`);
    });
    const bodiesOf = (task: string) => ran.filter((r) => r.task === task).map((r) => r.body).sort();
    expect(bodiesOf('daily')).toEqual(['1', '2', '3']);
    expect(bodiesOf('total')).toEqual(['1', '2', '3']);
  });
});

describe.concurrent('dedup', () => {
  cliTest("finishes a message whose dedup key a task has processed, without running the task again", async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('orders', 'ship', `
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineWorker } from 'nsqworker';
${RECORD}
export default defineWorker({
  body: z.object({ orderId: z.string(), n: z.number() }),
  dedupKey: (message) => message.data.orderId,
  tasks: { ship: record },
});
`);
    const run = project.startWorker('orders', 'ship');
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['ship']);

    await publish(httpAddress, 'orders', { orderId: 'a', n: 1 });
    await drained(httpAddress, 'orders', 'ship', 1);
    // The same body again, then another with the same key: both skipped. A new key runs.
    await publish(httpAddress, 'orders', { orderId: 'a', n: 1 });
    await publish(httpAddress, 'orders', { orderId: 'a', n: 2 });
    await publish(httpAddress, 'orders', { orderId: 'b', n: 3 });
    const channel = await drained(httpAddress, 'orders', 'ship', 4);
    expect(channel.requeue_count).toBe(0);

    const ran = await project.records<Ran>('ran.jsonl');
    expect(ran.map((r) => JSON.parse(r.body))).toEqual([
      { orderId: 'a', n: 1 },
      { orderId: 'b', n: 3 },
    ]);
  });
});

describe.concurrent('rejected messages', () => {
  cliTest('a body failing the schema, or validate returning false: no task runs, the message is dead-lettered', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('metrics', 'ingest', `
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineWorker } from 'nsqworker';
${RECORD}
export default defineWorker({
  body: z.object({ value: z.number() }),
  validate: (message) => message.data.value >= 0,
  tasks: { ingest: record },
});
`);
    const run = project.startWorker('metrics', 'ingest');
    const { tcpAddress, httpAddress } = await run.brokerAddresses();
    await run.subscribed(['ingest']);
    const deadLetters = collect(projects, tcpAddress, 'metrics.dead_letter');

    await publish(httpAddress, 'metrics', 'not json');
    await publish(httpAddress, 'metrics', { value: 'high' });
    await publish(httpAddress, 'metrics', { value: -1 });
    await publish(httpAddress, 'metrics', { value: 7 });
    await eventually(() => (deadLetters.messages.length >= 3 ? true : undefined), 'three dead letters');
    const channel = await drained(httpAddress, 'metrics', 'ingest', 4);
    expect(channel.requeue_count).toBe(0);

    const ran = await project.records<Ran>('ran.jsonl');
    expect(ran.map((r) => r.body)).toEqual(['{"value":7}']);
    const envelopes = deadLetters.messages.map((m) => m.json<{ body: string; error: string; task: string; channel: string; attempts: number }>());
    const byBody = new Map(envelopes.map((e) => [e.body, e]));
    expect(byBody.get('not json')?.error).toMatch(/not valid JSON/);
    expect(byBody.get('{"value":"high"}')?.error).toMatch(/schema.*value/);
    expect(byBody.get('{"value":-1}')?.error).toMatch(/validate returned false/);
    // Rejected before the task ran: marked, so that a replay runs every task.
    for (const envelope of envelopes) expect(envelope).toMatchObject({ task: 'ingest', channel: 'ingest', attempts: 1, rejected: true });
    // The log says where the message went.
    const rejected = run.lines.filter((line) => String(line.msg).startsWith('message rejected'));
    expect(rejected.map((line) => line.msg)).toEqual(Array(3).fill('message rejected: discarded without running the tasks, dead-lettered to topic metrics.dead_letter'));
  });
});

describe.concurrent('a rejected message with several tasks', () => {
  cliTest('is dead-lettered once, though every task channel rejects it', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('events', 'fan', `
import { appendFile } from 'node:fs/promises';
import { defineWorker } from 'nsqworker';
${RECORD}
export default defineWorker({
  validate: (message) => message.text() !== 'reject me',
  tasks: { first: record, second: record },
});
`);
    const run = project.startWorker('events', 'fan');
    const { tcpAddress, httpAddress } = await run.brokerAddresses();
    await run.subscribed(['first', 'second']);
    const deadLetters = collect(projects, tcpAddress, 'events.dead_letter');

    await publish(httpAddress, 'events', 'reject me');
    await publish(httpAddress, 'events', 'keep me');
    await drained(httpAddress, 'events', 'fan.first', 2);
    await drained(httpAddress, 'events', 'fan.second', 2);
    await eventually(() => (deadLetters.messages.length >= 1 ? true : undefined), 'the dead letter');
    // Both task channels are drained, and a dead letter is published before its message is finished:
    // the topic's count is final.
    const deadLetterTopic = (await brokerStats(httpAddress)).topics.find((t) => t.topic_name === 'events.dead_letter');
    expect(deadLetterTopic?.message_count).toBe(1);
    expect(deadLetters.messages[0]!.json<{ task: string }>().task).toBe('first');
    const ran = await project.records<Ran>('ran.jsonl');
    expect(ran.map((r) => `${r.task}:${r.body}`).sort()).toEqual(['first:keep me', 'second:keep me']);
  });
});

describe.concurrent('publish() from a task', () => {
  cliTest('reaches another topic', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('signups', 'welcome', `
import { defineWorker } from 'nsqworker';
export default defineWorker({
  tasks: {
    async welcome(message, context) {
      await context.publish('emails', { to: message.text(), from: context.topic });
    },
  },
});
`);
    const run = project.startWorker('signups', 'welcome');
    const { tcpAddress, httpAddress } = await run.brokerAddresses();
    await run.subscribed(['welcome']);
    const emails = collect(projects, tcpAddress, 'emails');
    await publish(httpAddress, 'signups', 'ada@example.com');
    await eventually(() => (emails.messages.length > 0 ? true : undefined), 'a message on emails');
    expect(emails.messages.map((m) => m.json())).toEqual([{ to: 'ada@example.com', from: 'signups' }]);
  });
});
