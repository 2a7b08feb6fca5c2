/**
 * A restart with other tasks: the channels of tasks the worker no longer has stay in the broker's
 * data path and keep a copy of every message. The worker names each at its start, with its depth
 * and the call that deletes it, and says nothing of channels in use or of its pause marker; on a
 * remote nsqd (real nsqd with NSQD_BIN) too, at the first connection to it, not at every reconnection.
 * A task channel left paused (nsqd keeps a pause across restarts) is named too, with the call that
 * unpauses it: its task would otherwise wait for messages with no word of why.
 */
import { describe, expect } from 'vitest';
import { uniqueTopic } from '../support/brokers.ts';
import { brokerStats, collect, eventually, publish, type CliProject } from './helpers/cli-project.ts';
import { cliPoolTest } from './helpers/cli-test.ts';

const worker = (tasks: string[]): string =>
  `import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { ${tasks.map((task) => `${task}() {}`).join(', ')} } });\n`;

/** The start of a stale channel's warning. */
const STALE = /^channel \S+ is (?:task \S+'s|this worker's) from (?:a run|an earlier run)/;

async function runOnce(project: CliProject, tasks: string[], publishOne = false): Promise<string[]> {
  await project.writeWorker('orders', 'process', worker(tasks));
  const run = project.startWorker('orders', 'process');
  const { httpAddress } = await run.brokerAddresses();
  await run.subscribed(tasks);
  if (publishOne) await publish(httpAddress, 'orders', 'kept by every channel');
  run.kill('SIGTERM');
  await run.waitForExit();
  return run.lines.filter((line) => line.level === 40 && STALE.test(String(line.msg))).map((line) => String(line.msg));
}

describe.concurrent('task channels of an earlier run', () => {
  cliPoolTest('are named at the start, with their depth and the delete call; channels in use are not', async ({ projects }) => {
    const project = await projects.create();
    expect(await runOnce(project, ['bill', 'notify', 'audit'])).toEqual([]);
    // The next run drops notify and audit; a message published while it runs lands in their channels too.
    expect(await runOnce(project, ['bill', 'ship'], true)).toEqual([
      expect.stringMatching(/^channel process\.audit is task audit's from an earlier run; this worker has no task audit now \(tasks bill, ship\): nothing waits in it now, but it keeps a copy of every message published to orders\./),
      expect.stringMatching(/^channel process\.notify is task notify's/),
    ]);
    const warnings = await runOnce(project, ['bill', 'ship']);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(': the 1 message waiting in it is handled by no task (a run that brings audit back would take them)');
    expect(warnings[0]).toMatch(/Delete it with: curl -X POST 'http:\/\/127\.0\.0\.1:\d+\/channel\/delete\?topic=orders&channel=process\.audit'/);
  });

  cliPoolTest('from several tasks to one: the task channels stay and are named; the worker channel is in use', async ({ projects }) => {
    const project = await projects.create();
    await runOnce(project, ['bill', 'ship']);
    // Left in bill's own channel (paused, so it waits there) when the worker goes to one task.
    const before = project.startWorker('orders', 'process');
    const { httpAddress } = await before.brokerAddresses();
    await before.subscribed(['bill', 'ship']);
    expect((await fetch(`http://${httpAddress}/channel/pause?topic=orders&channel=process.bill`, { method: 'POST' })).status).toBe(200);
    await publish(httpAddress, 'orders', 'left for bill');
    before.kill('SIGTERM');
    await before.waitForExit();
    const warnings = await runOnce(project, ['bill']);
    expect(warnings.map((warning) => warning.split(' ')[1])).toEqual(['process.bill', 'process.ship']);
    expect(warnings[0]).toContain(
      "channel process.bill is task bill's from a run with several tasks; with one task the worker consumes process instead: the 1 message waiting in it is handled by no task (a run with several tasks, bill among them, would take them)",
    );
    // And back: process, the one task's channel, is named with what waits in it.
    const back = await runOnce(project, ['bill', 'ship']);
    expect(back).toEqual([expect.stringMatching(/^channel process is this worker's from a run with one task; with several tasks each consumes process\.<task> instead: /)]);
  });

  cliPoolTest('on a remote nsqd: named once, with that nsqd\'s HTTP address; a channel a client still reads is not', async ({ projects, pool }) => {
    const nsqd = await pool.start();
    const topic = uniqueTopic('orders');
    for (const path of [`/topic/create?topic=${topic}`, ...['process.audit', 'process.old'].map((channel) => `/channel/create?topic=${topic}&channel=${channel}`)]) {
      const response = await fetch(`http://${nsqd.httpAddress}${path}`, { method: 'POST' });
      expect(response.status).toBe(200);
    }
    await publish(nsqd.httpAddress, topic, 'kept by every channel');
    // An older replica of the worker, still reading process.old.
    collect(projects, nsqd.tcpAddress, topic, 'process.old');
    await eventually(async () => {
      const stats = await brokerStats(nsqd.httpAddress);
      const old = stats.topics.find((t) => t.topic_name === topic)?.channels.find((c) => c.channel_name === 'process.old');
      return old !== undefined && old.clients.length === 1 ? true : undefined;
    }, 'a client on process.old');
    const p = await projects.create();
    await p.writeWorker(topic, 'process', worker(['bill', 'ship']));
    const run = p.startWorker(topic, 'process', ['--nsqd-tcp-address', nsqd.tcpAddress, '--nsqd-http-address', nsqd.httpAddress]);
    await run.subscribed(['bill', 'ship']);
    const stale = (): string[] => run.lines.filter((line) => STALE.test(String(line.msg))).map((line) => String(line.msg));
    await eventually(() => (stale().length > 0 ? true : undefined), 'the stale channel named');
    expect(stale()).toEqual([expect.stringMatching(/^channel process\.audit is task audit's from an earlier run; .* the 1 message waiting in it/)]);
    expect(stale()[0]).toContain(`Delete it with: curl -X POST 'http://${nsqd.httpAddress}/channel/delete?topic=${topic}&channel=process.audit'`);
    // A restart of nsqd: the tasks connect again, their channels readied again, and nothing more is
    // said (the old replica, not yet back on process.old, would make it look unread).
    const subscribedBefore = run.lines.filter((line) => line.msg === 'subscribed' && line.task === 'bill').length;
    await nsqd.restart();
    await run.waitForLine(
      (line) => line.msg === 'subscribed' && line.task === 'bill' && run.lines.filter((l) => l.msg === 'subscribed' && l.task === 'bill').length > subscribedBefore,
      'bill subscribed again after the nsqd restart',
    );
    expect(stale()).toHaveLength(1);
  });
});

describe.concurrent('a paused task channel', () => {
  const pausedWarnings = (lines: Array<{ level?: unknown; msg?: unknown }>): string[] =>
    lines.filter((line) => line.level === 40 && String(line.msg).includes(' is paused: ')).map((line) => String(line.msg));

  cliPoolTest('on the embedded broker, paused in an earlier run, is named at the start with its depth and the unpause call', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('orders', 'process', worker(['bill']));
    const first = project.startWorker('orders', 'process');
    const { httpAddress } = await first.brokerAddresses();
    await first.subscribed(['bill']);
    const pause = await fetch(`http://${httpAddress}/channel/pause?topic=orders&channel=process`, { method: 'POST' });
    expect(pause.status).toBe(200);
    await publish(httpAddress, 'orders', 'waits while paused');
    first.kill('SIGTERM');
    await first.waitForExit();
    expect(pausedWarnings(first.lines)).toEqual([]);

    const second = project.startWorker('orders', 'process');
    const again = await second.brokerAddresses();
    await second.subscribed(['bill']);
    await eventually(() => (pausedWarnings(second.lines).length > 0 ? true : undefined), 'the paused channel named');
    expect(pausedWarnings(second.lines)).toEqual([
      `channel process of topic orders is paused: no message reaches its task until it is unpaused (1 waiting); unpause it in the console (nsqworker admin) or with: curl -X POST 'http://${again.httpAddress}/channel/unpause?topic=orders&channel=process'`,
    ]);
    second.kill('SIGTERM');
    await second.waitForExit();
  });

  cliPoolTest("on a remote nsqd, is named with that nsqd's HTTP address; a channel not paused is not", async ({ projects, pool }) => {
    const nsqd = await pool.start();
    const topic = uniqueTopic('orders');
    for (const path of [`/topic/create?topic=${topic}`, `/channel/create?topic=${topic}&channel=process.bill`, `/channel/create?topic=${topic}&channel=process.ship`, `/channel/pause?topic=${topic}&channel=process.ship`]) {
      const response = await fetch(`http://${nsqd.httpAddress}${path}`, { method: 'POST' });
      expect(response.status).toBe(200);
    }
    const p = await projects.create();
    await p.writeWorker(topic, 'process', worker(['bill', 'ship']));
    const run = p.startWorker(topic, 'process', ['--nsqd-tcp-address', nsqd.tcpAddress, '--nsqd-http-address', nsqd.httpAddress]);
    await run.subscribed(['bill', 'ship']);
    await eventually(() => (pausedWarnings(run.lines).length > 0 ? true : undefined), 'the paused channel named');
    expect(pausedWarnings(run.lines)).toEqual([
      `channel process.ship of topic ${topic} is paused: no message reaches its task until it is unpaused (0 waiting); unpause it in the console (nsqworker admin) or with: curl -X POST 'http://${nsqd.httpAddress}/channel/unpause?topic=${topic}&channel=process.ship'`,
    ]);
  });
});
