/**
 * A worker pauses a topic with no channel while it creates its task channels. Killed (SIGKILL)
 * between the pause and the unpause, it must not leave the topic paused for good: the marker
 * channel it created after pausing tells its next start that the pause is its own to finish. A
 * topic an operator paused has no marker, and stays paused through any number of worker starts.
 * The kill is timed by the worker's own request: an HTTP relay in front of nsqd's API kills it when
 * the second task channel is asked for. Runs against real nsqd when NSQD_BIN is set.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker } from '../../broker/nsqd/server.ts';
import { testResources, uniqueTopic } from '../support/brokers.ts';
import { CliProjects, publish, type CliProject } from './helpers/cli-project.ts';
import { eachTaskRan, twoTaskProject } from './helpers/two-tasks.ts';

const projects = new CliProjects();
const { pool, closers } = testResources();
afterEach(() => projects.cleanup());

const MARKER = 'pageview.paused-by-nsqworker';

const project = (topic: string): Promise<CliProject> => twoTaskProject(() => projects.create(), topic);

interface TopicState {
  paused: boolean;
  depth: number;
  channels: string[];
}

async function topicState(httpAddress: string, topic: string): Promise<TopicState> {
  const stats = (await (await fetch(`http://${httpAddress}/stats?format=json&topic=${topic}`)).json()) as {
    topics: Array<{ topic_name: string; paused: boolean; depth: number; channels: Array<{ channel_name: string }> }>;
  };
  const entry = stats.topics.find((t) => t.topic_name === topic)!;
  return { paused: entry.paused, depth: entry.depth, channels: entry.channels.map((c) => c.channel_name).sort() };
}

async function post(httpAddress: string, path: string): Promise<void> {
  const response = await fetch(`http://${httpAddress}${path}`, { method: 'POST' });
  expect(response.status, `${path}: ${await response.text()}`).toBe(200);
}

/**
 * nsqd's HTTP API relayed as it is, except the first request `holds` matches: that one is never
 * answered, and `onHeld` runs when it arrives.
 */
async function relay(target: string, holds: (path: string) => boolean): Promise<{ address: string; onHeld: () => void }> {
  const control = { address: '', onHeld: (): void => {} };
  let held = false;
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (!held && holds(path)) {
      held = true;
      control.onHeld();
      return;
    }
    void fetch(`http://${target}${path}`, { method: req.method, headers: { Accept: String(req.headers.accept ?? '*/*') } }).then(
      async (answer) => {
        res.writeHead(answer.status, { 'Content-Type': answer.headers.get('content-type') ?? 'text/plain' });
        res.end(await answer.text());
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  control.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return control;
}

describe('a worker killed between pausing a topic and unpausing it', () => {
  it('the next start unpauses it and every task gets the backlog; an operator’s pause is never undone', async () => {
    const nsqd = await pool.start();
    const topic = uniqueTopic('log');
    for (const n of ['1', '2', '3']) await publish(nsqd.httpAddress, topic, n);
    const p = await project(topic);
    const direct = ['--nsqd-tcp-address', nsqd.tcpAddress];

    // Killed when it asks for its second task channel: the topic is paused, the marker and the first channel made.
    const proxy = await relay(nsqd.httpAddress, (path) => path.startsWith('/channel/create') && path.includes('channel=pageview.store'));
    const first = p.startWorker(topic, 'pageview', [...direct, '--nsqd-http-address', proxy.address]);
    proxy.onHeld = () => first.kill('SIGKILL');
    expect((await first.waitForExit()).signal).toBe('SIGKILL');
    expect(await topicState(nsqd.httpAddress, topic)).toEqual({ paused: true, depth: 3, channels: ['pageview.count', MARKER] });

    const second = p.startWorker(topic, 'pageview', [...direct, '--nsqd-http-address', nsqd.httpAddress]);
    await second.waitForMessage(`unpaused topic ${topic} on ${nsqd.httpAddress}: an earlier run of this worker paused it`);
    await second.subscribed(['count', 'store']);
    await eachTaskRan(p, second, ['1', '2', '3']);
    expect(await topicState(nsqd.httpAddress, topic)).toMatchObject({ paused: false, channels: ['pageview.count', 'pageview.store'] });

    // Now an operator pauses it, with every task channel in place; no marker says it is the worker's.
    second.kill('SIGKILL');
    await second.waitForExit();
    await post(nsqd.httpAddress, `/topic/pause?topic=${topic}`);
    await publish(nsqd.httpAddress, topic, '4');
    const third = p.startWorker(topic, 'pageview', [...direct, '--nsqd-http-address', nsqd.httpAddress]);
    await third.waitForMessage(`topic ${topic} on ${nsqd.httpAddress} is paused, not by this worker: left paused`);
    await third.subscribed(['count', 'store']);
    expect(await topicState(nsqd.httpAddress, topic)).toEqual({ paused: true, depth: 1, channels: ['pageview.count', 'pageview.store'] });
    await post(nsqd.httpAddress, `/topic/unpause?topic=${topic}`);
    await eachTaskRan(p, third, ['1', '2', '3', '4']);
  });

  it('on the embedded broker: a data path left with the pause and its marker is unpaused by the next start', async () => {
    const topic = uniqueTopic('log');
    const p = await project(topic);
    // The state such a kill leaves in the embedded broker's data path, made by a broker of our own.
    const before = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: p.path('data') });
    try {
      for (const n of ['a', 'b']) await publish(before.httpAddress, topic, n);
      await post(before.httpAddress, `/topic/pause?topic=${topic}`);
      await post(before.httpAddress, `/channel/create?topic=${topic}&channel=${MARKER}`);
      await post(before.httpAddress, `/channel/create?topic=${topic}&channel=pageview.count`);
    } finally {
      await before.close();
    }

    const run = p.startWorker(topic, 'pageview');
    const { httpAddress } = await run.brokerAddresses();
    await run.waitForMessage(`unpaused topic ${topic} on ${httpAddress}`);
    await run.subscribed(['count', 'store']);
    await eachTaskRan(p, run, ['a', 'b']);
    expect(await topicState(httpAddress, topic)).toMatchObject({ paused: false, channels: ['pageview.count', 'pageview.store'] });
  });
});
