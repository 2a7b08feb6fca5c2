/**
 * A worker with two tasks on an NSQ cluster: every task sees every message that waited in the
 * topic before the worker first started and every message after, whether the worker finds nsqd
 * through lookupd, is given it with --nsqd-tcp-address, or joins another worker's embedded broker;
 * and discovery through lookupd starts at once and says what it found or waits for. Runs against
 * real nsqd and nsqlookupd when NSQD_BIN and NSQLOOKUPD_BIN are set.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect } from 'vitest';
import { startLookupd } from '../../broker/lookupd/server.ts';
import { NSQD_BIN, NSQLOOKUPD_BIN, startNsqlookupdProcess, type ServerHandle } from '../support/nsq-processes.ts';
import { uniqueTopic } from '../support/brokers.ts';
import { publish, type CliProject, type CliProjects } from './helpers/cli-project.ts';
import { cliPoolTest } from './helpers/cli-test.ts';
import { eachTaskRan, twoTaskProject } from './helpers/two-tasks.ts';

/** A lookupd (real nsqlookupd with NSQLOOKUPD_BIN) closed when the test's projects are. */
async function lookupd(projects: CliProjects): Promise<ServerHandle> {
  const options = { tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1' };
  const handle = NSQLOOKUPD_BIN === undefined ? await startLookupd(options) : await startNsqlookupdProcess(NSQLOOKUPD_BIN, options);
  projects.defer(() => handle.close());
  return handle;
}

const project = (projects: CliProjects, topic: string): Promise<CliProject> => twoTaskProject(() => projects.create(), topic);

describe.concurrent('every task sees the backlog and what follows', () => {
  cliPoolTest('through lookupd: found by the first query (at once), and the topic is paused while the channels are made', async ({ projects, pool }) => {
    const l = await lookupd(projects);
    const nsqd = await pool.start({ lookupdTcpAddresses: [l.tcpAddress] });
    const topic = uniqueTopic('log');
    for (const n of ['1', '2', '3']) await publish(nsqd.httpAddress, topic, n);
    const p = await project(projects, topic);
    // The default poll interval (60s): only a query at start finds the nsqd within the test's deadline.
    const run = p.startWorker(topic, 'pageview', ['--lookupd-http-address', l.httpAddress]);
    await run.waitForMessage(`found 1 nsqd for topic ${topic}`, {}, 20_000);
    await run.subscribed(['count', 'store']);
    await eachTaskRan(p, run, ['1', '2', '3']);
    const created = await run.waitForMessage('created channels pageview.count, pageview.store');
    expect(created.pausedTopic).toBe(true);
    await publish(nsqd.httpAddress, topic, '4');
    await eachTaskRan(p, run, ['1', '2', '3', '4']);
    // Unpaused again: nothing holds the topic.
    const stats = (await (await fetch(`http://${nsqd.httpAddress}/stats?format=json&topic=${topic}`)).json()) as { topics: Array<{ paused: boolean }> };
    expect(stats.topics[0]!.paused).toBe(false);
  });

  cliPoolTest('with --nsqd-tcp-address and --nsqd-http-address (NSQWORKER_NSQD_HTTP_ADDRESSES and nsqdHttpAddresses alike)', async ({ projects, pool }) => {
    const nsqd = await pool.start();
    for (const via of ['flag', 'env', 'config'] as const) {
      const topic = uniqueTopic('log');
      for (const n of ['a', 'b']) await publish(nsqd.httpAddress, topic, n);
      const p = await project(projects, topic);
      if (via === 'config') await p.write('nsqworker.config.ts', `export default { nsqdHttpAddresses: ['${nsqd.httpAddress}'] };\n`);
      const direct = ['--nsqd-tcp-address', nsqd.tcpAddress];
      const run =
        via === 'flag'
          ? p.startWorker(topic, 'pageview', [...direct, '--nsqd-http-address', nsqd.httpAddress])
          : p.startWorker(topic, 'pageview', direct, via === 'env' ? { NSQWORKER_NSQD_HTTP_ADDRESSES: nsqd.httpAddress } : {});
      await run.waitForMessage('created channels pageview.count, pageview.store');
      await run.subscribed(['count', 'store']);
      await eachTaskRan(p, run, ['a', 'b']);
      await publish(nsqd.httpAddress, topic, 'c');
      await eachTaskRan(p, run, ['a', 'b', 'c']);
      run.kill();
      await run.waitForExit();
    }
  });

  cliPoolTest('on two nsqd: --max-in-flight below the connections is one warning per task naming the flag and the value that reads from both', async ({ projects, pool }) => {
    const [one, two] = await Promise.all([pool.start(), pool.start()]);
    const [topic, other] = [uniqueTopic('log'), uniqueTopic('log')];
    await publish(one.httpAddress, other, 'a');
    await publish(two.httpAddress, other, 'b');
    const both = ['--nsqd-tcp-address', one.tcpAddress, '--nsqd-tcp-address', two.tcpAddress, '--nsqd-http-address', one.httpAddress, '--nsqd-http-address', two.httpAddress];
    const [low, enough] = await Promise.all([project(projects, topic), project(projects, other)]);
    const rotating = low.startWorker(topic, 'pageview', both);
    const reading = enough.startWorker(other, 'pageview', [...both, '--max-in-flight', '2']);
    for (const task of ['count', 'store']) {
      const warning = await rotating.waitForLine((line) => line.code === 'W_MAX_IN_FLIGHT_BELOW_CONNECTIONS' && line.task === task, `${task}'s warning`);
      expect(warning).toMatchObject({ level: 40, maxInFlight: 1, connections: 2 });
      expect(warning.msg).toBe(
        '--max-in-flight 1 is below the 2 nsqd this task reads from: they take turns at RDY, 5s a turn, so a message may wait at an nsqd up to 10s; --max-in-flight 2 or more reads from every nsqd at once',
      );
    }
    // At that value each nsqd sends at once: both messages, and no warning.
    await eachTaskRan(enough, reading, ['a', 'b']);
    expect(reading.lines.filter((line) => line.code === 'W_MAX_IN_FLIGHT_BELOW_CONNECTIONS')).toEqual([]);
  });

  cliPoolTest('on two nsqd with the same --node-id: a message id both use is two messages, each run once per task (and under --watch)', async ({ projects, pool }) => {
    // Two nsqd on one host take the same node id by default (a hash of the host name), and each
    // numbers the messages of a millisecond from 0: ids repeat across them, not within one.
    const [one, two] = await Promise.all([pool.start({ nodeId: 7 }), pool.start({ nodeId: 7 })]);
    const both = ['--nsqd-tcp-address', one.tcpAddress, '--nsqd-tcp-address', two.tcpAddress, '--nsqd-http-address', one.httpAddress, '--nsqd-http-address', two.httpAddress];
    const runs = await Promise.all(
      [[], ['--watch']].map(async (mode) => {
        const topic = uniqueTopic('log');
        const p = await project(projects, topic);
        const run = p.startWorker(topic, 'pageview', [...both, '--max-in-flight', '50', ...mode]);
        await run.subscribed(['count', 'store']);
        return { topic, p, run, bodies: [] as string[] };
      }),
    );
    const mpub = async (nsqd: { httpAddress: string }, prefix: string, round: number): Promise<void> => {
      const batch = Array.from({ length: 10 }, (_, i) => `${prefix}${round}-${i}`);
      for (const { topic, bodies } of runs) {
        bodies.push(...batch);
        const response = await fetch(`http://${nsqd.httpAddress}/mpub?topic=${topic}`, { method: 'POST', body: batch.join('\n') });
        expect(response.status).toBe(200);
      }
    };
    // Now and then both take a batch in the same millisecond: their ids then match, sequence for
    // sequence (a quarter of 2,000 messages did so in 50 rounds of this, made by hand).
    for (let round = 0; round < 40; round++) await Promise.all([mpub(one, 'one-', round), mpub(two, 'two-', round)]);
    for (const { p, run, bodies } of runs) {
      await eachTaskRan(p, run, bodies);
      expect(run.lines.filter((line) => line.msg === 'already processed: finishing without running the task again')).toEqual([]);
    }
  });

  cliPoolTest('a connection nsqd drops is one warning line with its reason and no stack, and the tasks subscribe again when it is back', async ({ projects, pool }) => {
    const nsqd = await pool.start();
    const topic = uniqueTopic('log');
    const p = await project(projects, topic);
    const run = p.startWorker(topic, 'pageview', ['--nsqd-tcp-address', nsqd.tcpAddress, '--nsqd-http-address', nsqd.httpAddress]);
    await run.subscribed(['count', 'store']);
    await nsqd.restart();
    const dropped = await run.waitForMessage('disconnected', { nsqd: nsqd.tcpAddress });
    expect(dropped.level).toBe(40);
    expect(dropped.err).toBeUndefined();
    if (NSQD_BIN === undefined) expect(dropped.reason).toMatch(/ECONNRESET|closed/);
    await run.waitForLine((line) => line.msg === 'subscribed' && Number(line.time) >= Number(dropped.time), 'subscribed again', 20_000);
    await publish(nsqd.httpAddress, topic, 'after');
    await eachTaskRan(p, run, ['after']);
  });

  cliPoolTest('refuses --nsqd-http-address given a different number of times than --nsqd-tcp-address (exit 2)', async ({ projects }) => {
    const topic = uniqueTopic('log');
    const p = await project(projects, topic);
    const args = ['--topic', topic, '--channel', 'pageview', '--nsqd-tcp-address', '127.0.0.1:1', '--nsqd-tcp-address', '127.0.0.1:3'];
    const { code, stderr } = await p.run([...args, '--nsqd-http-address', '127.0.0.1:2']);
    expect(code).toBe(2);
    expect(stderr).toContain('--nsqd-http-address is given 1 time(s) for 2 --nsqd-tcp-address: give one per nsqd, in the same order');
  });

  cliPoolTest("with lookupd only: waits for lookupd's first nsqd, saying so, then runs; a signal ends the wait (exit 0)", async ({ projects, pool }) => {
    const l = await lookupd(projects);
    const topic = uniqueTopic('log');
    const p = await project(projects, topic);
    const args = ['--lookupd-http-address', l.httpAddress, '--lookupd-poll-interval', '100ms'];
    const [waiting, stopped] = [p.startWorker(topic, 'pageview', args), p.startWorker(topic, 'pageview', args)];
    for (const run of [waiting, stopped]) {
      const said = await run.waitForLine((line) => String(line.msg).startsWith('no nsqd to publish to yet'), 'the wait to be said');
      expect(said).toMatchObject({ level: 40 });
      expect(said.msg).toBe(`no nsqd to publish to yet: waiting for one to register with lookupd, asking every 100ms (${l.httpAddress}: no nsqd registered yet); or give --nsqd-tcp-address`);
    }
    stopped.kill('SIGTERM');
    expect(await stopped.waitForExit(), stopped.describe()).toEqual({ code: 0, signal: null });
    expect(stopped.lines.map((line) => line.msg)).toContain('stopped while waiting for an nsqd');

    const nsqd = await pool.start({ lookupdTcpAddresses: [l.tcpAddress] });
    await waiting.waitForMessage('lookupd lists an nsqd now: starting', {}, 20_000);
    // As ever with lookupd, the tasks subscribe once an nsqd has the topic.
    await publish(nsqd.httpAddress, topic, 'after the wait');
    await waiting.subscribed(['count', 'store']);
    await eachTaskRan(p, waiting, ['after the wait']);
    // Said once, not at every ask.
    expect(waiting.lines.filter((line) => String(line.msg).startsWith('no nsqd to publish to yet'))).toHaveLength(1);
  });

  cliPoolTest('with lookupd only: a signal ends the wait while lookupd has not answered yet, without waiting for its answer', async ({ projects }) => {
    // A lookupd that takes connections and never answers: the worker's first ask is still out.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    projects.defer(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const address = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const topic = uniqueTopic('log');
    const p = await project(projects, topic);
    const asked = once(silent, 'connection');
    const run = p.startWorker(topic, 'pageview', ['--lookupd-http-address', address]);
    await asked;
    run.kill('SIGTERM');
    expect(await run.waitForExit(), run.describe()).toEqual({ code: 0, signal: null });
    // Stopped at once: the ask was given up, not answered by its 5 s timeout and then said as a wait.
    expect(run.lines.map((line) => line.msg)).toContain('stopped while waiting for an nsqd');
    expect(run.lines.filter((line) => String(line.msg).startsWith('no nsqd to publish to yet'))).toEqual([]);
  });

  cliPoolTest("with lookupd only: an nsqd's HTTP address, or a TCP port, given for lookupd is refused at once (exit 2)", async ({ projects, pool }) => {
    const l = await lookupd(projects);
    // An nsqd that lookupd lists: a good lookupd beside the wrong address does not make it pass.
    const nsqd = await pool.start({ lookupdTcpAddresses: [l.tcpAddress] });
    const topic = uniqueTopic('log');
    await publish(nsqd.httpAddress, topic, 'registered');
    const p = await project(projects, topic);
    const run = (address: string, before: string[] = []) => p.run(['--topic', topic, '--channel', 'pageview', ...before, '--lookupd-http-address', address]);
    const [http, nsqdTcp, lookupdTcp, besideGood] = await Promise.all([
      run(nsqd.httpAddress),
      run(nsqd.tcpAddress),
      run(l.tcpAddress),
      run(nsqd.httpAddress, ['--lookupd-http-address', l.httpAddress]),
    ]);
    for (const result of [besideGood]) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`nsqworker: --lookupd-http-address ${nsqd.httpAddress}: http://${nsqd.httpAddress}/nodes answered 404 NOT_FOUND`);
    }
    expect(http.code).toBe(2);
    expect(http.stderr.trim()).toBe(
      `nsqworker: --lookupd-http-address ${nsqd.httpAddress}: http://${nsqd.httpAddress}/nodes answered 404 NOT_FOUND: this is not an nsqlookupd (an nsqd's HTTP address? lookupd's HTTP port is 4161 by default)`,
    );
    for (const [result, address] of [
      [nsqdTcp, nsqd.tcpAddress],
      [lookupdTcp, l.tcpAddress],
    ] as const) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`nsqworker: --lookupd-http-address ${address}: ${address} answered with something other than HTTP`);
      expect(result.stderr).toContain('is it an nsqd or lookupd TCP port? Give the HTTP one');
    }
  });

  cliPoolTest("an nsqd's HTTP port, or lookupd's TCP port, given as --nsqd-tcp-address stops the worker, exit 2, naming it", async ({ projects, pool }) => {
    const [nsqd, l] = await Promise.all([pool.start(), lookupd(projects)]);
    const topic = uniqueTopic('log');
    const p = await project(projects, topic);
    const run = (address: string) => p.run(['--topic', topic, '--channel', 'pageview', '--nsqd-tcp-address', address]);
    const [http, lookupdTcp] = await Promise.all([run(nsqd.httpAddress), run(l.tcpAddress)]);
    const stoppingLine = (stdout: string): Record<string, unknown> => {
      const stopping = stdout.split('\n').filter((line) => line.includes('stopping'));
      expect(stopping, stdout).toHaveLength(1);
      return JSON.parse(stopping[0]!) as Record<string, unknown>;
    };
    expect(http.code, http.stdout).toBe(2);
    expect(stoppingLine(http.stdout)).toMatchObject({
      level: 50,
      code: 'E_USAGE',
      msg: `--nsqd-tcp-address ${nsqd.httpAddress}: received an HTTP response: this address is an HTTP port, not an NSQ TCP port; stopping`,
    });
    expect(lookupdTcp.code, lookupdTcp.stdout).toBe(2);
    expect(stoppingLine(lookupdTcp.stdout)).toMatchObject({
      code: 'E_USAGE',
      msg: `--nsqd-tcp-address ${l.tcpAddress} answered E_BAD_PROTOCOL, as an nsqlookupd's TCP port does: give an nsqd's TCP port (4150 by default); stopping`,
    });
  });

  cliPoolTest('never unpauses a topic an operator paused: the channels wait with it, and all get the backlog on unpause', async ({ projects, pool }) => {
    const nsqd = await pool.start();
    const topic = uniqueTopic('log');
    await publish(nsqd.httpAddress, topic, 'held');
    expect((await fetch(`http://${nsqd.httpAddress}/topic/pause?topic=${topic}`, { method: 'POST' })).status).toBe(200);
    const p = await project(projects, topic);
    const run = p.startWorker(topic, 'pageview', ['--nsqd-tcp-address', nsqd.tcpAddress, '--nsqd-http-address', nsqd.httpAddress]);
    await run.subscribed(['count', 'store']);
    const stats = (await (await fetch(`http://${nsqd.httpAddress}/stats?format=json&topic=${topic}`)).json()) as {
      topics: Array<{ paused: boolean; depth: number; channels: Array<{ channel_name: string }> }>;
    };
    expect(stats.topics[0]).toMatchObject({ paused: true, depth: 1 });
    expect(stats.topics[0]!.channels.map((c) => c.channel_name).sort()).toEqual(['pageview.count', 'pageview.store']);
    expect(await p.records('ran.jsonl')).toEqual([]);
    expect((await fetch(`http://${nsqd.httpAddress}/topic/unpause?topic=${topic}`, { method: 'POST' })).status).toBe(200);
    await eachTaskRan(p, run, ['held']);
  });

  cliPoolTest("on another worker's embedded broker that it joined", async ({ projects }) => {
    const topic = uniqueTopic('log');
    const first = await projects.create();
    await first.writeWorker('other', 'job', `import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { async run() {} } });\n`);
    const host = first.startWorker('other', 'job');
    const { tcpAddress, httpAddress } = await host.brokerAddresses();
    await host.waitForMessage('worker other/job running');
    for (const n of ['x', 'y']) await publish(httpAddress, topic, n);

    const p = await project(projects, topic);
    const run = p.startWorker(topic, 'pageview', ['--broker-tcp-address', tcpAddress, '--broker-http-address', httpAddress, '--data-path', first.path('data')]);
    await run.waitForMessage('already running');
    await run.subscribed(['count', 'store']);
    await eachTaskRan(p, run, ['x', 'y']);
    await publish(httpAddress, topic, 'z');
    await eachTaskRan(p, run, ['x', 'y', 'z']);
  });
});

describe.concurrent('discovery through lookupd', () => {
  cliPoolTest("asks lookupd every 5s while no nsqd has the topic, not the interval's minute", async ({ projects, pool }) => {
    const l = await lookupd(projects);
    const nsqd = await pool.start({ lookupdTcpAddresses: [l.tcpAddress] });
    const topic = uniqueTopic('log');
    const p = await project(projects, topic);
    const run = p.startWorker(topic, 'pageview', ['--lookupd-http-address', l.httpAddress]);
    await run.waitForMessage(`no nsqd has topic ${topic} yet; asking lookupd every 5s until one has (then every 1m0s)`);
    await publish(nsqd.httpAddress, topic, 'first');
    await eachTaskRan(p, run, ['first']);
  });

  cliPoolTest('says what it waits for, polls on the interval, and starts both tasks together once an nsqd has the topic', async ({ projects, pool }) => {
    const l = await lookupd(projects);
    const nsqd = await pool.start({ lookupdTcpAddresses: [l.tcpAddress] });
    const topic = uniqueTopic('log');
    const p = await project(projects, topic);
    const run = p.startWorker(topic, 'pageview', ['--lookupd-http-address', l.httpAddress, '--lookupd-poll-interval', '300ms']);
    await run.waitForMessage(`no nsqd has topic ${topic} yet; asking lookupd every 300ms`);
    // Published before any channel exists: the topic keeps it until the worker's channels are made.
    await publish(nsqd.httpAddress, topic, 'first');
    await run.waitForMessage(`found 1 nsqd for topic ${topic}`);
    // Said once, not at every poll.
    expect(run.lines.filter((line) => String(line.msg).startsWith('no nsqd has topic'))).toHaveLength(1);
    await run.subscribed(['count', 'store']);
    // One poll found the nsqd for both tasks: they subscribe together, not a poll interval apart.
    const at = run.lines.filter((line) => line.msg === 'subscribed').map((line) => Number(line.time));
    expect(Math.abs(at[0]! - at[1]!)).toBeLessThan(300);
    await eachTaskRan(p, run, ['first']);
  });
});
