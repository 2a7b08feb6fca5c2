/**
 * A reload that changes a worker's set of tasks applies without a restart: an added task consumes
 * its own channel from then on; a removed task's consumer drains and stops, and its channel is left
 * in place with a warning naming it and the /channel/delete call on each nsqd's real HTTP address
 * (deleted only under `dev`). A config file created after the start is watched too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startLookupd } from '../../broker/lookupd/server.ts';
import { testResources, uniqueTopic } from '../support/brokers.ts';
import { brokerStats, CliProjects, eventually, publish, type CliProject } from './helpers/cli-project.ts';
import { cliTest } from './helpers/cli-test.ts';

// The tests on remote nsqd share these; the others wait together, each with projects of its own.
const projects = new CliProjects();
const { pool, closers } = testResources();
afterEach(() => projects.cleanup());

function worker(tasks: readonly string[]): string {
  const bodies = tasks
    .map((task) => `    async ${task}(message, context) { await record(${JSON.stringify(task)}, message.text(), context.options.label, context.channel); },`)
    .join('\n');
  return `
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineWorker } from 'nsqworker';
const record = (task, body, label, channel) => appendFile('records.jsonl', JSON.stringify({ task, body, label, channel }) + '\\n');
export default defineWorker({
  options: z.object({ label: z.string().default('default') }),
  tasks: {
${bodies}
  },
});
`;
}

interface Record {
  task: string;
  body: string;
  label: string;
  channel: string;
}

async function recordsFor(p: CliProject, body: string, count: number): Promise<Record[]> {
  return eventually(async () => {
    const found = (await p.records<Record>('records.jsonl')).filter((r) => r.body === body);
    return found.length >= count ? found.sort((x, y) => x.task.localeCompare(y.task)) : undefined;
  }, `${count} records of ${body}`);
}

async function channelsOf(httpAddress: string, topic: string): Promise<string[]> {
  const stats = await brokerStats(httpAddress);
  return (stats.topics.find((t) => t.topic_name === topic)?.channels ?? []).map((c) => c.channel_name).sort();
}

describe.concurrent('a change to the set of tasks applies on reload', () => {
  cliTest('adds and removes tasks under --watch; a config file created after the start applies', async ({ projects }) => {
    const p = await projects.create();
    await p.writeWorker('log', 'pv', worker(['count', 'store']));
    const run = p.startWorker('log', 'pv', ['--watch']);
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['count', 'store']);

    await p.writeWorker('log', 'pv', worker(['count', 'notify', 'store']));
    await run.waitForMessage('task notify added: consuming channel pv.notify');
    await run.waitForMessage('subscribed', { task: 'notify' });
    await publish(httpAddress, 'log', 'm1');
    expect((await recordsFor(p, 'm1', 3)).map((r) => [r.task, r.channel])).toEqual([
      ['count', 'pv.count'],
      ['notify', 'pv.notify'],
      ['store', 'pv.store'],
    ]);
    // A replay of a dead letter of the task the reload added runs there; the other tasks pass it by, no warning.
    const replay = { __nsqworker_replay: { task: 'notify', channel: 'pv.notify', dead_letter_id: '0123456789abcdef', replayed_at: new Date().toISOString() }, body: 'r1', body_encoding: 'utf8' };
    await publish(httpAddress, 'log', JSON.stringify(replay));
    expect((await recordsFor(p, 'r1', 1)).map((r) => r.task)).toEqual(['notify']);
    await eventually(async () => {
      const channels = (await brokerStats(httpAddress)).topics.find((t) => t.topic_name === 'log')!.channels;
      return channels.every((c) => c.depth === 0 && c.in_flight_count === 0) ? true : undefined;
    }, 'every task channel to be done with the replay');
    expect(run.lines.filter((line) => String(line.msg).startsWith('replay for a task')), run.describe()).toEqual([]);

    await p.writeWorker('log', 'pv', worker(['count', 'notify']));
    const warning = await run.waitForMessage('task store removed');
    expect(warning.level).toBe(40);
    expect(String(warning.msg)).toContain('its channel pv.store stays');
    expect(String(warning.msg)).toContain(`curl -X POST 'http://${httpAddress}/channel/delete?topic=log&channel=pv.store'`);
    await run.waitForMessage('worker code reloaded', { reloads: 2 });
    expect(await channelsOf(httpAddress, 'log')).toEqual(['pv.count', 'pv.notify', 'pv.store']);
    await publish(httpAddress, 'log', 'm2');
    expect((await recordsFor(p, 'm2', 2)).map((r) => r.task)).toEqual(['count', 'notify']);

    await p.write('nsqworker.config.ts', "export default { workers: { 'log/pv': { label: 'from-config' } } };\n");
    await run.waitForMessage('worker code reloaded', { reloads: 3 });
    await publish(httpAddress, 'log', 'm3');
    expect((await recordsFor(p, 'm3', 2)).map((r) => r.label)).toEqual(['from-config', 'from-config']);
    // The removed task saw neither later message.
    expect((await p.records<Record>('records.jsonl')).filter((r) => r.task === 'store').map((r) => r.body)).toEqual(['m1']);
  });

  cliTest("a removed task's series leave /metrics; a moved task's follow its channel", async ({ projects }) => {
    const p = await projects.create();
    await p.writeWorker('log', 'pv', worker(['count']));
    const run = p.startWorker('log', 'pv', ['--watch', '--health-address', '127.0.0.1:0']);
    const { httpAddress } = await run.brokerAddresses();
    const health = String((await run.waitForMessage('health and metrics on')).healthAddress);
    await run.subscribed(['count']);
    await p.writeWorker('log', 'pv', worker(['count', 'store']));
    await run.waitForMessage('subscribed', { task: 'store', channel: 'pv.store' });
    await run.waitForMessage('subscribed', { task: 'count', channel: 'pv.count' });
    await publish(httpAddress, 'log', 'm1');
    await recordsFor(p, 'm1', 2);
    const series = async (): Promise<string[]> => {
      const text = await (await fetch(`http://${health}/metrics`)).text();
      return text.split('\n').filter((line) => line.startsWith('nsqworker_') && line.includes('task="'));
    };
    const tasksIn = (lines: string[]): string[] => [...new Set(lines.map((line) => /channel="([^"]+)",task="([^"]+)"/.exec(line)![0]))].sort();
    // Going from one task to two moved count from channel pv to pv.count: no series of pv is left.
    expect(tasksIn(await series())).toEqual(['channel="pv.count",task="count"', 'channel="pv.store",task="store"']);
    expect((await series()).some((line) => line.startsWith('nsqworker_task_duration_seconds_count{') && line.includes('task="store"'))).toBe(true);

    await p.writeWorker('log', 'pv', worker(['count', 'notify']));
    await run.waitForMessage('task store removed');
    await run.waitForMessage('worker code reloaded', { reloads: 2 });
    await run.waitForMessage('subscribed', { task: 'notify' });
    expect(tasksIn(await series())).toEqual(['channel="pv.count",task="count"', 'channel="pv.notify",task="notify"']);
  });

  cliTest('from one task to two: the channel C becomes C.<task>, and C is named as left behind', async ({ projects }) => {
    const p = await projects.create();
    await p.writeWorker('log', 'pv', worker(['count']));
    const run = p.startWorker('log', 'pv', ['--watch']);
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['count']);
    await p.writeWorker('log', 'pv', worker(['count', 'store']));
    const warning = await run.waitForMessage('task count moved to channel pv.count');
    expect(String(warning.msg)).toContain('its old channel pv stays');
    await run.waitForMessage('task count moved from channel pv: consuming channel pv.count');
    await run.waitForMessage('subscribed', { task: 'store', channel: 'pv.store' });
    await run.waitForMessage('subscribed', { task: 'count', channel: 'pv.count' });
    expect(await channelsOf(httpAddress, 'log')).toEqual(['pv', 'pv.count', 'pv.store']);
    await publish(httpAddress, 'log', 'm1');
    expect((await recordsFor(p, 'm1', 2)).map((r) => [r.task, r.channel])).toEqual([
      ['count', 'pv.count'],
      ['store', 'pv.store'],
    ]);
  });

  cliTest('under dev, a removed task’s channel is deleted', async ({ projects }) => {
    const p = await projects.create();
    await p.writeWorker('log', 'pv', worker(['count', 'store']));
    const dev = p.spawn(['dev', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', p.path('data')]);
    const { httpAddress } = await dev.brokerAddresses();
    await dev.waitForMessage('subscribed', { task: 'store' });
    await dev.waitForMessage('subscribed', { task: 'count' });
    await p.writeWorker('log', 'pv', worker(['count', 'store', 'archive']));
    await dev.waitForMessage('subscribed', { task: 'archive' });
    await p.writeWorker('log', 'pv', worker(['archive', 'count']));
    await dev.waitForMessage('task store removed: its channel pv.store deleted');
    expect(await channelsOf(httpAddress, 'log')).toEqual(['pv.archive', 'pv.count']);
    dev.kill('SIGTERM');
    expect((await dev.waitForExit()).code).toBe(0);
  });
});

describe.concurrent("a removed task's channel with messages in it, under dev", () => {
  cliTest('is deleted with a warning that counts what it held: a retry waiting in it is lost with it', async ({ projects }) => {
    const p = await projects.create();
    const failing = (tasks: string[]): string =>
      `import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { ${tasks.map((task) => (task === 'store' ? `store() { throw new Error('not yet'); }` : `${task}() {}`)).join(', ')} } });\n`;
    await p.writeWorker('log', 'pv', failing(['archive', 'count', 'store']));
    const dev = p.spawn(['dev', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', p.path('data')]);
    const { httpAddress } = await dev.brokerAddresses();
    for (const task of ['archive', 'count', 'store']) await dev.waitForMessage('subscribed', { task });
    await publish(httpAddress, 'log', 'm1');
    // store failed it: a retry, deferred by the default requeue delay (90 s), waits in pv.store.
    await eventually(async () => {
      const stats = await brokerStats(httpAddress);
      const store = stats.topics.find((t) => t.topic_name === 'log')?.channels.find((c) => c.channel_name === 'pv.store');
      return store !== undefined && store.deferred_count === 1 ? true : undefined;
    }, 'the retry deferred in pv.store');
    await p.writeWorker('log', 'pv', failing(['archive', 'count']));
    const line = await dev.waitForMessage('task store removed: its channel pv.store deleted with');
    expect(line).toMatchObject({ level: 40, depth: 0, deferred: 1, inFlight: 0 });
    expect(await channelsOf(httpAddress, 'log')).toEqual(['pv.archive', 'pv.count']);
  });
});

describe.concurrent("a task moved to a channel of its own, under dev, with a message waiting in the old one", () => {
  cliTest('says the old channel is deleted with it, and that the new one holds what was published since', async ({ projects }) => {
    const p = await projects.create();
    await p.writeWorker('log', 'pv', worker(['count']));
    const dev = p.spawn(['dev', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', p.path('data')]);
    const { httpAddress } = await dev.brokerAddresses();
    await dev.waitForMessage('subscribed', { task: 'count' });
    // Paused, pv keeps m1 waiting when the second task moves count to pv.count.
    await fetch(`http://${httpAddress}/channel/pause?topic=log&channel=pv`, { method: 'POST' });
    await publish(httpAddress, 'log', 'm1');
    await p.writeWorker('log', 'pv', worker(['count', 'store']));
    const line = await dev.waitForMessage('task count moved to channel pv.count: its old channel pv deleted with');
    expect(line).toMatchObject({ level: 40, depth: 1, deferred: 0, inFlight: 0 });
    expect(line.msg).toBe(
      'task count moved to channel pv.count: its old channel pv deleted with 1 message waiting, 0 deferred (retries among them) and 0 in flight; pv.count has a copy of each message published since the new code loaded, so only older ones are not handled by task count',
    );
    dev.kill('SIGTERM');
    expect((await dev.waitForExit()).code).toBe(0);
  });
});

describe.concurrent('the single task of a worker renamed, under dev', () => {
  cliTest('keeps its channel, and the new task gets what waited in it', async ({ projects }) => {
    const p = await projects.create();
    await p.writeWorker('log', 'pv', worker(['send']));
    const dev = p.spawn(['dev', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', p.path('data')]);
    const { httpAddress } = await dev.brokerAddresses();
    await dev.waitForMessage('subscribed', { task: 'send' });
    // Paused, the channel holds what is published until the rename is in.
    await fetch(`http://${httpAddress}/channel/pause?topic=log&channel=pv`, { method: 'POST' });
    for (const body of ['m1', 'm2', 'm3']) await publish(httpAddress, 'log', body);
    await p.writeWorker('log', 'pv', worker(['record']));
    await dev.waitForMessage('subscribed', { task: 'record' });
    await fetch(`http://${httpAddress}/channel/unpause?topic=log&channel=pv`, { method: 'POST' });
    const records = await eventually(async () => {
      const found = await p.records<{ task: string; body: string }>('records.jsonl');
      return found.length >= 3 ? found : undefined;
    }, 'the waiting messages to reach the renamed task');
    expect(records.map((r) => [r.task, r.body]).sort()).toEqual([['record', 'm1'], ['record', 'm2'], ['record', 'm3']]);
    expect(dev.lines.filter((line) => String(line.msg).includes('deleted'))).toEqual([]);
    expect(await channelsOf(httpAddress, 'log')).toEqual(['pv']);
    dev.kill('SIGTERM');
    expect((await dev.waitForExit()).code).toBe(0);
  });
});

describe("a removed task's channel on remote nsqd", () => {
  it('is named with the HTTP address from --nsqd-http-address or lookupd, and plainly when none is known', async () => {
    const lookupd = await startLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1' });
    closers.push(() => lookupd.close());
    const nsqd = await pool.start({ lookupdTcpAddresses: [lookupd.tcpAddress] });
    const ways = {
      flag: ['--nsqd-tcp-address', nsqd.tcpAddress, '--nsqd-http-address', nsqd.httpAddress],
      lookupd: ['--lookupd-http-address', lookupd.httpAddress],
      // The TCP port + 1 is not this nsqd's HTTP port (both are picked at random): nothing confirms it.
      unknown: ['--nsqd-tcp-address', nsqd.tcpAddress],
    };
    const warnings = await Promise.all(
      Object.entries(ways).map(async ([way, args]) => {
        const topic = uniqueTopic(way);
        // The topic on the nsqd, so lookupd lists that nsqd for it.
        await publish(nsqd.httpAddress, topic, 'first');
        const p = await projects.create();
        await p.writeWorker(topic, 'pv', worker(['count', 'store']));
        const run = p.startWorker(topic, 'pv', ['--watch', ...args]);
        await run.subscribed(['count', 'store']);
        await p.writeWorker(topic, 'pv', worker(['count']));
        return { topic, line: await run.waitForMessage('task store removed', {}, 20_000) };
      }),
    );
    const [flag, fromLookupd, unknown] = warnings.map(({ topic, line }) => ({ topic, msg: String(line.msg) }));
    const call = (topic: string): string => `curl -X POST 'http://${nsqd.httpAddress}/channel/delete?topic=${topic}&channel=pv.store'`;
    expect(flag!.msg).toContain(`its channel pv.store stays and keeps a copy of every message published to ${flag!.topic}; delete it with: ${call(flag!.topic)}`);
    expect(fromLookupd!.msg).toContain(`delete it with: ${call(fromLookupd!.topic)}`);
    expect(unknown!.msg).toContain(
      `on nsqd ${nsqd.tcpAddress} its HTTP address is not known (give --nsqd-http-address): POST /channel/delete?topic=${unknown!.topic}&channel=pv.store to its HTTP API`,
    );
    for (const { line } of warnings) expect(line.msg).not.toContain('<nsqd-http-address>');
  });

  it('once deleted as the warning says, is not made again when the tasks reconnect', async () => {
    const nsqd = await pool.start();
    const topic = uniqueTopic('log');
    const p = await projects.create();
    await p.writeWorker(topic, 'pv', worker(['count', 'notify', 'store']));
    const run = p.startWorker(topic, 'pv', ['--watch', '--nsqd-tcp-address', nsqd.tcpAddress, '--nsqd-http-address', nsqd.httpAddress]);
    await run.subscribed(['count', 'notify', 'store']);
    await p.writeWorker(topic, 'pv', worker(['count', 'notify']));
    await run.waitForMessage('task store removed');
    const deleted = await fetch(`http://${nsqd.httpAddress}/channel/delete?topic=${topic}&channel=pv.store`, { method: 'POST' });
    expect(deleted.status).toBe(200);
    // A restart drops the connection: count subscribes again, its channels readied again first.
    const subscribedBefore = run.lines.filter((line) => line.msg === 'subscribed' && line.task === 'count').length;
    await nsqd.restart();
    await run.waitForLine(
      (line) => line.msg === 'subscribed' && line.task === 'count' && run.lines.filter((l) => l.msg === 'subscribed' && l.task === 'count').length > subscribedBefore,
      'count subscribed again after the nsqd restart',
    );
    expect(await channelsOf(nsqd.httpAddress, topic)).toEqual(['pv.count', 'pv.notify']);
  });
});
