/**
 * The worker contract other tools read: how a worker's consumers name themselves in nsqd's /stats,
 * and the replay envelope, which runs a dead letter again on the failed task only.
 */
import { hostname } from 'node:os';
import { afterEach, expect, it } from 'vitest';
import { CliProjects, eventually, publish } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

type Ran = { task: string; body: string };

const WORKER = `
import { appendFile } from 'node:fs/promises';
import { defineWorker } from 'nsqworker';
async function record(message, context) {
  await appendFile('ran.jsonl', JSON.stringify({ task: context.task, body: message.text() }) + '\\n');
}
export default defineWorker({
  tasks: {
    async ledger(message, context) { await record(message, context); },
    async notify(message, context) { await record(message, context); },
  },
});
`;

interface StatsClient {
  user_agent: string;
  client_id: string;
}

async function channelClients(httpAddress: string, topic: string): Promise<Record<string, StatsClient[]>> {
  const stats = (await (await fetch(`http://${httpAddress}/stats?format=json&topic=${topic}`)).json()) as {
    topics: Array<{ channels: Array<{ channel_name: string; clients: StatsClient[]; depth: number; in_flight_count: number; message_count: number }> }>;
  };
  return Object.fromEntries((stats.topics[0]?.channels ?? []).map((c) => [c.channel_name, c.clients]));
}

it("names each task's consumer in its user agent, and runs a replay on the named task only, or on every task for '*'", async () => {
  const project = await projects.create();
  await project.writeWorker('payments', 'settle', WORKER);
  const run = project.startWorker('payments', 'settle', ['--health-address', '127.0.0.1:0']);
  const { httpAddress } = await run.brokerAddresses();
  await run.subscribed(['ledger', 'notify']);

  const clients = await channelClients(httpAddress, 'payments');
  const ledger = clients['settle.ledger']![0]!;
  expect(ledger.user_agent).toMatch(/^nsqworker\/\d+\.\d+\.\d+\S* \(worker=payments\/settle; task=ledger; dead_letter=payments\.dead_letter; health=127\.0\.0\.1:\d+\)$/);
  expect(clients['settle.notify']![0]!.user_agent).toContain('task=notify;');
  expect(ledger.client_id).toMatch(new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+$`));

  const replay = (task: string, body: string, channel?: string) => ({ __nsqworker_replay: { task, channel, dead_letter_id: '0123456789abcdef', replayed_at: new Date().toISOString() }, body, body_encoding: 'utf8' });
  await publish(httpAddress, 'payments', JSON.stringify(replay('notify', '{"amount":7}', 'settle.notify')));
  // A rejected message's replay (its dead letter marked rejected) is for every task.
  await publish(httpAddress, 'payments', JSON.stringify(replay('*', '{"amount":8}')));
  // Another worker's dead letter, from its channel: this worker's notify leaves it, as its other tasks do.
  await publish(httpAddress, 'payments', JSON.stringify(replay('notify', '{"amount":9}', 'refund.notify')));
  await publish(httpAddress, 'payments', 'after');
  // Both tasks see every message; the first replay ran on notify alone, with the original body.
  await eventually(async () => ((await project.records<Ran>('ran.jsonl')).length >= 5 ? true : undefined), 'the tasks to run');
  await eventually(async () => {
    const stats = (await (await fetch(`http://${httpAddress}/stats?format=json&topic=payments`)).json()) as { topics: Array<{ channels: Array<{ depth: number; in_flight_count: number; message_count: number }> }> };
    return stats.topics[0]!.channels.every((c) => c.message_count === 4 && c.depth === 0 && c.in_flight_count === 0) ? true : undefined;
  }, 'both channels to finish every message');
  const ran = await project.records<Ran>('ran.jsonl');
  expect(ran.filter((r) => r.task === 'notify').map((r) => r.body).sort()).toEqual(['after', '{"amount":7}', '{"amount":8}']);
  expect(ran.filter((r) => r.task === 'ledger').map((r) => r.body).sort()).toEqual(['after', '{"amount":8}']);
  run.kill('SIGTERM');
  expect((await run.waitForExit()).code).toBe(0);
});
