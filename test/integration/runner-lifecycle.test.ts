/**
 * The runner's life: a SIGTERM in the middle of a stream drains and exits 0, and a restart on the
 * same data path processes the rest, every message exactly once; a worker started beside a broker
 * that already runs joins it instead of failing.
 */
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { startBroker } from '../../broker/nsqd/server.ts';
import { Producer } from '../../client/producer.ts';
import { brokerStats, eventually, publish } from './helpers/cli-project.ts';
import { cliTest } from './helpers/cli-test.ts';

/** Each message takes about 20 ms, then its sequence number and the process id are recorded. */
const SLOW_WORKER = `
import { appendFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { defineWorker } from 'nsqworker';
export default defineWorker({
  tasks: {
    async process(message) {
      await delay(20);
      await appendFile('processed.jsonl', JSON.stringify({ seq: Number(message.text()), pid: process.pid, attempts: message.attempts }) + '\\n');
    },
  },
});
`;

type Processed = { seq: number; pid: number; attempts: number };

/** A worker whose tasks each take about 20 ms, then record the sequence number, task and process id. */
function slowWorker(tasks: readonly string[]): string {
  return `
import { appendFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { defineWorker } from 'nsqworker';
async function work(message, context) {
  await delay(20);
  await appendFile('processed.jsonl', JSON.stringify({ seq: Number(message.text()), task: context.task, pid: process.pid, attempts: message.attempts }) + '\\n');
}
export default defineWorker({ tasks: { ${tasks.map((task) => `${task}: work`).join(', ')} } });
`;
}

describe.concurrent('shutdown', () => {
  cliTest.for([
    { tasks: ['process'], maxInFlight: 4 },
    { tasks: ['archive', 'index'], maxInFlight: 8 },
  ])(
    'SIGTERM mid-stream exits 0; after a restart on the same data path every message was processed exactly once ($tasks.length task(s), $maxInFlight in flight)',
    async ({ tasks, maxInFlight }, { projects }) => {
      const project = await projects.create();
      await project.writeWorker('events', 'store', slowWorker(tasks));
      const dataPath = project.path('data');
      const args = ['--max-in-flight', String(maxInFlight), '--data-path', dataPath];
      const first = project.startWorker('events', 'store', args);
      const { tcpAddress } = await first.brokerAddresses();
      await first.subscribed(tasks);

      // Steady publishing at about 200 messages a second, while the tasks take about 20 ms each.
      const producer = new Producer({ nsqdTcpAddresses: [tcpAddress], closeTimeoutMs: 1000, connectTimeoutMs: 1000 });
      projects.defer(() => producer.close());
      const acked = new Set<number>();
      const attempted = new Set<number>();
      let publishing = true;
      let failures = 0;
      let seq = 0;
      const pacer = setInterval(() => {
        if (!publishing) return;
        const n = seq++;
        attempted.add(n);
        producer.publish('events', String(n)).then(
          () => acked.add(n),
          () => {
            failures++;
            if (failures >= 5) publishing = false;
          },
        );
      }, 5);
      projects.defer(async () => clearInterval(pacer));

      await eventually(async () => ((await project.records('processed.jsonl')).length >= 40 * tasks.length ? true : undefined), 'messages processed');
      first.kill('SIGTERM');
      const exit = await first.waitForExit(15_000);
      expect(exit, first.describe()).toEqual({ code: 0, signal: null });
      // Messages delivered and not yet handled go back to nsqd without a warning each (up to maxInFlight of them).
      expect(first.lines.filter((line) => Number(line.level) >= 40 && String(line.msg).includes('requeued'))).toEqual([]);
      // Publishes go on until the broker is gone: keep going until they fail, then stop.
      await eventually(() => (publishing ? undefined : true), 'publishing to fail once the broker is gone');
      clearInterval(pacer);
      await producer.close().catch(() => undefined);
      expect(acked.size).toBeGreaterThan(40);

      const second = project.startWorker('events', 'store', args);
      const { httpAddress } = await second.brokerAddresses();
      await second.subscribed(tasks);
      await eventually(async () => {
        const processed = await project.records<Processed & { task: string }>('processed.jsonl');
        const seen = new Set(processed.map((record) => `${record.task}/${record.seq}`));
        return tasks.every((task) => [...acked].every((n) => seen.has(`${task}/${n}`))) ? true : undefined;
      }, 'every acknowledged message to be processed by every task');
      // Let the second run drain whatever else it holds, then count.
      await eventually(async () => {
        const topic = (await brokerStats(httpAddress)).topics.find((t) => t.topic_name === 'events');
        const idle = topic?.channels.every((c) => c.depth === 0 && c.in_flight_count === 0 && c.deferred_count === 0);
        return topic !== undefined && topic.channels.length === tasks.length && idle ? true : undefined;
      }, 'the second run to drain its channels');
      const all = await project.records<Processed & { task: string }>('processed.jsonl');

      const counts = new Map<string, number>();
      for (const record of all) counts.set(`${record.task}/${record.seq}`, (counts.get(`${record.task}/${record.seq}`) ?? 0) + 1);
      expect([...counts].filter(([, count]) => count > 1), 'messages processed twice').toEqual([]);
      // Nothing processed that was never published. A message that reached the first run as it
      // closed was requeued unprocessed, so the second run sees it again (attempts 2); the first run
      // itself never saw a redelivery, which a message timeout would have caused.
      expect(all.filter((record) => !attempted.has(record.seq))).toEqual([]);
      expect(all.filter((record) => record.attempts > 1 && record.pid !== second.child.pid)).toEqual([]);
      expect(new Set(all.map((record) => record.pid)), 'both runs processed messages').toEqual(new Set([first.child.pid, second.child.pid]));
    },
  );
});

/** Records each delivery as it starts; 'hang' never finishes on its first delivery (and ignores the abort signal). */
const HANGING_WORKER = `
import { appendFileSync } from 'node:fs';
import { defineWorker } from 'nsqworker';
export default defineWorker({
  tasks: {
    async process(message) {
      appendFileSync('processed.jsonl', JSON.stringify({ seq: 0, body: message.text(), pid: process.pid, attempts: message.attempts }) + '\\n');
      if (message.text() === 'hang' && message.attempts === 1) await new Promise(() => {});
    },
  },
});
`;

describe.concurrent('a signal while the worker starts', () => {
  cliTest('stops it cleanly once started (exit 0, messages the broker took are kept), instead of killing it', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('events', 'store', SLOW_WORKER);
    const dataPath = project.path('data');
    // --watch starts the worker's code in a child process after the broker is up, which keeps the
    // window between the two open long enough to signal into it every time.
    const first = project.startWorker('events', 'store', ['--data-path', dataPath, '--watch']);
    // The embedded broker is up, the worker not yet bound: a supervisor's SIGTERM now must not lose
    // what the broker holds.
    const { httpAddress } = await first.brokerAddresses();
    await publish(httpAddress, 'events', '1');
    first.kill('SIGTERM');
    const exit = await first.waitForExit();
    expect(exit, first.describe()).toEqual({ code: 0, signal: null });
    expect(first.lines.some((line) => line.msg === 'worker stopped')).toBe(true);

    // The message the broker accepted survives, and is processed once (by one run or the other).
    const second = project.startWorker('events', 'store', ['--data-path', dataPath]);
    await second.subscribed(['process']);
    const processed = await eventually(async () => {
      const records = await project.records<Processed>('processed.jsonl');
      return records.length > 0 ? records : undefined;
    }, 'the message published during startup to be processed');
    expect(processed.map((record) => record.seq)).toEqual([1]);
  });
});

describe.concurrent('a task that ignores shutdown', () => {
  cliTest('is cut off after --shutdown-timeout; its message runs again after a restart', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('events', 'store', HANGING_WORKER);
    const first = project.startWorker('events', 'store', ['--shutdown-timeout', '500ms']);
    const { httpAddress } = await first.brokerAddresses();
    await first.subscribed(['process']);
    await publish(httpAddress, 'events', 'hang');
    await eventually(async () => ((await project.records('processed.jsonl')).length > 0 ? true : undefined), 'the task to start');

    first.kill('SIGTERM');
    const exit = await first.waitForExit(10_000);
    expect(exit.signal).toBeNull();
    expect(exit.code, first.describe()).toBe(0);
    // Cut off, not failed: the log says so, once for the stop.
    expect(first.lines.filter((line) => String(line.msg).includes('still running at --shutdown-timeout'))).toEqual([
      expect.objectContaining({ level: 40, cutOff: 1, msg: 'shutting down: 1 task still running at --shutdown-timeout: its message was requeued and may be handled again' }),
    ]);
    expect(first.lines.filter((line) => String(line.msg).startsWith('task failed: message requeued'))).toEqual([]);

    const second = project.startWorker('events', 'store');
    await second.subscribed(['process']);
    const records = await eventually(async () => {
      const processed = await project.records<Processed & { body: string }>('processed.jsonl');
      return processed.length >= 2 ? processed : undefined;
    }, 'the message to run again after the restart');
    expect(records.map((record) => [record.body, record.attempts])).toEqual([
      ['hang', 1],
      ['hang', 2],
    ]);
  });

  cliTest('a second signal exits at once, with status 130, and loses nothing the broker accepted', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('events', 'store', HANGING_WORKER);
    const run = project.startWorker('events', 'store', ['--shutdown-timeout', '60s']);
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['process']);
    await publish(httpAddress, 'events', 'hang');
    await eventually(async () => ((await project.records('processed.jsonl')).length > 0 ? true : undefined), 'the task to start');
    // maxInFlight is 1: these wait in the embedded broker's memory queue behind the hanging task.
    for (const body of ['a', 'b', 'c']) await publish(httpAddress, 'events', body);
    run.kill('SIGTERM');
    await run.waitForMessage('shutting down');
    // A second on, the stop says what it waits for and how to cut it short.
    const waiting = await run.waitForLine((line) => String(line.msg).startsWith('shutdown waits for'), 'the line naming the running task');
    expect(waiting.msg).toBe('shutdown waits for 1 message its tasks are handling (process: 1) to finish, up to 1m0s after the stop began; a second SIGTERM (or Ctrl-C) stops now, and they are delivered again');
    run.child.kill('SIGTERM');
    expect(await run.waitForExit(10_000)).toEqual({ code: 130, signal: null });

    // The next run on the same data path gets all four: the abandoned one again, and the waiting ones.
    const again = project.startWorker('events', 'store');
    await again.subscribed(['process']);
    const bodies = await eventually(async () => {
      const seen = new Set((await project.records<Processed & { body: string }>('processed.jsonl')).filter((r) => r.pid !== run.child.pid).map((r) => r.body));
      return ['hang', 'a', 'b', 'c'].every((body) => seen.has(body)) ? [...seen].sort() : undefined;
    }, 'the second run to process every accepted message');
    expect(bodies).toEqual(['a', 'b', 'c', 'hang']);
  });
});

describe.concurrent('a broker already running', () => {
  cliTest('is joined by a worker started with its addresses, and left running when the worker stops', async ({ projects }) => {
    const brokerData = await mkdtemp(path.join(os.tmpdir(), 'nsqworker-join-'));
    projects.defer(() => rm(brokerData, { recursive: true, force: true }));
    const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: brokerData });
    projects.defer(() => broker.close());

    const project = await projects.create();
    await project.writeWorker('events', 'store', SLOW_WORKER);
    const run = project.startWorker('events', 'store', [
      '--broker-tcp-address',
      broker.tcpAddress,
      '--broker-http-address',
      broker.httpAddress,
    ]);
    const joined = await run.waitForMessage('already running');
    expect(joined.tcpAddress).toBe(broker.tcpAddress);
    // Its messages are where it keeps them, not under this worker's data path: said, not left to find out.
    expect(joined).toMatchObject({ level: 40, dataPath: brokerData });
    expect(joined.msg).toBe(`an NSQ broker is already running at ${broker.tcpAddress}: using it; it keeps its messages in ${brokerData}, not in this worker's --data-path ${String(joined.ownDataPath)}`);
    expect(String(joined.ownDataPath).startsWith(project.path(''))).toBe(true);
    await run.subscribed(['process']);

    await publish(broker.httpAddress, 'events', '7');
    await eventually(async () => ((await project.records('processed.jsonl')).length > 0 ? true : undefined), 'the message to be processed');
    expect((await project.records<Processed>('processed.jsonl')).map((record) => record.seq)).toEqual([7]);

    run.kill('SIGTERM');
    expect(await run.waitForExit()).toEqual({ code: 0, signal: null });
    const ping = await fetch(`http://${broker.httpAddress}/ping`);
    expect(await ping.text()).toBe('OK');
  });

  cliTest("is joined at its own TCP address when the one given is another, and that is said", async ({ projects }) => {
    const brokerData = await mkdtemp(path.join(os.tmpdir(), 'nsqworker-join-'));
    projects.defer(() => rm(brokerData, { recursive: true, force: true }));
    const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: brokerData });
    projects.defer(() => broker.close());
    // A port nothing listens on: the broker's own is the one to use.
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const wrong = `127.0.0.1:${(other.address() as AddressInfo).port}`;
    await new Promise((resolve) => other.close(resolve));

    const project = await projects.create();
    await project.writeWorker('events', 'store', SLOW_WORKER);
    const run = project.startWorker('events', 'store', ['--broker-tcp-address', wrong, '--broker-http-address', broker.httpAddress]);
    const said = await run.waitForMessage('is not that broker');
    expect(said).toMatchObject({ level: 40, given: wrong, tcpAddress: broker.tcpAddress });
    expect(said.msg).toBe(`--broker-tcp-address ${wrong} is not that broker's: it takes TCP connections at ${broker.tcpAddress}, where this worker connects instead`);
    await run.subscribed(['process']);
    await publish(broker.httpAddress, 'events', '8');
    await eventually(async () => ((await project.records('processed.jsonl')).length > 0 ? true : undefined), 'the message to be processed');
    run.kill('SIGTERM');
    expect(await run.waitForExit()).toEqual({ code: 0, signal: null });
  });
});

describe.concurrent('an error nothing catches in the worker code', () => {
  cliTest('stops the worker cleanly and exits 1, one line and no raw stack: the broker keeps what it accepted', async ({ projects }) => {
    const project = await projects.create();
    // The classic missing await: a rejected promise nothing handles, after the task has finished.
    await project.writeWorker('events', 'store', `
import { defineWorker } from 'nsqworker';
export default defineWorker({
  tasks: {
    async process(message, context) {
      if (message.text() === 'forget') Promise.reject(new Error('forgotten rejection'));
      if (message.text() === 'stuck') {
        // Fails beside a task that never ends: the stop waits for it, and says how to cut it short.
        setTimeout(() => { throw new Error('stuck failure'); }, 100);
        await new Promise(() => {});
      }
      if (message.text() === 'late') {
        // A timer that throws while a stop drains this task: the stop goes on, and ends with exit 1.
        setTimeout(() => { throw new Error('late failure'); }, 300);
        context.log.info('task started');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    },
  },
});
`);
    const first = project.startWorker('events', 'store');
    const { httpAddress } = await first.brokerAddresses();
    await first.subscribed(['process']);
    // Messages of another topic's channel, in the embedded broker's memory only.
    for (const create of ['topic/create?topic=other', 'channel/create?topic=other&channel=keep']) {
      expect((await fetch(`http://${httpAddress}/${create}`, { method: 'POST' })).status).toBe(200);
    }
    for (const body of ['a', 'b', 'c']) await publish(httpAddress, 'other', body);
    await publish(httpAddress, 'events', 'forget');
    const exit = await first.waitForExit(15_000);
    expect(exit, first.describe()).toEqual({ code: 1, signal: null });
    expect(first.lines.filter((line) => line.level === 50).map((line) => line.msg)).toEqual([
      'a rejected promise that nothing awaited or caught: forgotten rejection; stopping cleanly (the messages the broker holds are kept, those of running tasks requeued), then exit 1',
    ]);
    // Its stack ends at the task's frame, as a task's failure is logged: the runner's frames below are cut.
    const stack = String((first.lines.find((line) => line.level === 50)?.err as { stack?: string } | undefined)?.stack);
    expect(stack.split('\n').slice(1), stack).toEqual([expect.stringContaining('events_store_worker.ts:')]);
    expect(first.stderr).not.toMatch(/Node\.js v\d+/);

    const second = project.startWorker('events', 'store');
    const restarted = await second.brokerAddresses();
    await second.subscribed(['process']);
    const keep = (await brokerStats(restarted.httpAddress)).topics.find((t) => t.topic_name === 'other')?.channels.find((c) => c.channel_name === 'keep');
    expect(keep?.depth).toBe(3);
    await publish(restarted.httpAddress, 'events', 'late');
    await second.waitForMessage('task started');
    second.kill('SIGTERM');
    expect((await second.waitForExit()).code, second.describe()).toBe(1);
    expect(second.lines.filter((line) => line.level === 50).map((line) => String(line.msg))).toEqual([expect.stringMatching(/^an error that nothing caught: late failure; stopping cleanly/)]);
    // The drain went on: the task ran to its end.
    expect(second.lines.some((line) => line.msg === 'worker stopped' && line.finishedWhileStopping === 1), second.describe()).toBe(true);

    // A stop an error began waits for a task that never ends, says so, and a SIGTERM ends it at once.
    const third = project.startWorker('events', 'store');
    const again = await third.brokerAddresses();
    await third.subscribed(['process']);
    await publish(again.httpAddress, 'events', 'stuck');
    await third.waitForMessage(
      'the stop waits for 1 message its tasks are handling (process: 1) to finish, up to 5s after the stop began; a SIGTERM or Ctrl-C stops now, and they are delivered again',
    );
    third.kill('SIGTERM');
    expect((await third.waitForExit(5000)).code, third.describe()).toBe(130);
    // Written before that exit: the message comes again.
    const fourth = project.startWorker('events', 'store');
    const last = await fourth.brokerAddresses();
    await fourth.subscribed(['process']);
    // Waiting, in flight or requeued by the time of the look (its task never ends): there, once.
    const store = (await brokerStats(last.httpAddress)).topics.find((t) => t.topic_name === 'events')?.channels.find((c) => c.channel_name === 'store');
    expect(store === undefined ? 0 : store.depth + store.in_flight_count + store.deferred_count, fourth.describe()).toBe(1);
  });
});
