/**
 * `--health-address`: a worker child process serves /healthz and /metrics. /healthz is 503 until
 * every task is subscribed, 200 then, and 503 again from the first SIGTERM while the drain runs;
 * /metrics counts what happened to messages, per task.
 */
import { describe, expect } from 'vitest';
import { Producer } from '../../client/producer.ts';
import { eventually, type CliProject, type CliProjects, type CliRun } from './helpers/cli-project.ts';
import { deployTest } from './helpers/deploy-test.ts';
import { freePort, httpGet, sample } from './deploy-support.ts';

/**
 * Two tasks (channels jobs.fast and jobs.slow). A body is {id, sleepMs?, failOnce?}; `slow` sleeps
 * sleepMs on the first delivery only (ignoring the shutdown signal: work in progress finishes),
 * `fast` throws once when failOnce is set. Each run appends "<task> <id> <attempts>" to handled.txt.
 */
const WORKER = `
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineWorker } from 'nsqworker';

export default defineWorker({
  body: z.object({ id: z.string(), sleepMs: z.number().default(0), failOnce: z.boolean().default(false) }),
  tasks: {
    async fast(message) {
      if (message.data.failOnce && message.attempts === 1) throw new Error('failing once on purpose');
      appendFileSync('handled.txt', 'fast ' + message.data.id + ' ' + message.attempts + '\\n');
    },
    async slow(message) {
      if (message.attempts === 1 && message.data.sleepMs > 0) await sleep(message.data.sleepMs);
      appendFileSync('handled.txt', 'slow ' + message.data.id + ' ' + message.attempts + '\\n');
    },
  },
});
`;

interface Started {
  project: CliProject;
  run: CliRun;
  base: string;
}

/**
 * Starts the worker with its health server on a port of its own choosing (port 0: no other test
 * can take it between a probe and the listen) and reads the bound address from its log line.
 */
async function startWorker(projects: CliProjects, nsqdTcpAddress: string, extra: string[] = []): Promise<Started> {
  const project = await projects.create();
  await project.writeWorker('jobs', 'work', WORKER);
  const run = project.startWorker('jobs', 'work', ['--nsqd-tcp-address', nsqdTcpAddress, '--health-address', '127.0.0.1:0', '--max-in-flight', '4', ...extra]);
  const line = await run.waitForLine((entry) => typeof entry.healthAddress === 'string', 'the health address', 30_000);
  return { project, run, base: `http://${String(line.healthAddress)}` };
}

/** Waits for /healthz 200; on a timeout the error carries the worker's output. */
async function untilReady({ run, base }: Started): Promise<void> {
  await eventually(async () => ((await healthz(base))?.status === 200 ? true : undefined), 'the worker to be ready', 30_000).catch((error: Error) => {
    throw new Error(`${error.message}\n${run.describe()}`);
  });
}

async function healthz(base: string): Promise<{ status: number; body: { status: string; ready: boolean } } | undefined> {
  const answer = await httpGet(`${base}/healthz`);
  if ('error' in answer) return undefined;
  return { status: answer.status, body: JSON.parse(answer.text) as { status: string; ready: boolean } };
}

async function metrics(base: string): Promise<string> {
  const answer = await httpGet(`${base}/metrics`);
  if ('error' in answer) throw new Error(`/metrics: ${answer.error}`);
  expect(answer.status).toBe(200);
  return answer.text;
}

async function lines(project: CliProject): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  try {
    return (await readFile(project.path('handled.txt'), 'utf8')).split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}

const FAST = { topic: 'jobs', channel: 'work.fast', task: 'fast' };
const SLOW = { topic: 'jobs', channel: 'work.slow', task: 'slow' };

describe.concurrent('nsqworker --health-address', () => {
  deployTest('answers 503 until every task is subscribed, then 200', async ({ projects, resources }) => {
    // The nsqd address is taken before anything listens there: the worker starts, cannot connect,
    // and must say so; then a broker appears on that port and the worker's reconnect finds it.
    const nsqdPort = await freePort();
    const { run, base } = await startWorker(projects, `127.0.0.1:${nsqdPort}`);
    const before = await eventually(() => healthz(base), '/healthz to answer');
    expect(before.status, run.describe()).toBe(503);
    expect(['starting', 'connecting']).toContain(before.body.status);
    expect(sample(await metrics(base), 'nsqworker_ready')).toBe(0);
    // Liveness, as nsqd's /ping: the process answers, ready or not.
    const ping = await fetch(`${base}/ping`);
    expect([ping.status, await ping.text()]).toEqual([200, 'OK']);

    await resources.broker({ tcpAddress: `127.0.0.1:${nsqdPort}` });
    const after = await eventually(async () => {
      const answer = await healthz(base);
      return answer?.status === 200 ? answer : undefined;
    }, '/healthz to turn 200 once the broker is up');
    expect(after.body).toMatchObject({ ready: true, status: 'ok' });
    const text = await metrics(base);
    expect(sample(text, 'nsqworker_ready')).toBe(1);
    expect(sample(text, 'nsqworker_nsqd_connected', { ...FAST, nsqd: `127.0.0.1:${nsqdPort}` })).toBe(1);
    expect(sample(text, 'nsqworker_nsqd_connected', { ...SLOW, nsqd: `127.0.0.1:${nsqdPort}` })).toBe(1);
    // Unknown paths and other methods get the right errors.
    expect(await httpGet(`${base}/nope`)).toMatchObject({ status: 404 });
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  deployTest('counts received, finished, requeued, discarded and dead-lettered messages per task, and task durations', async ({ projects, resources }) => {
    const broker = await resources.broker();
    const started = await startWorker(projects, broker.tcpAddress, ['--requeue-delay', '50ms']);
    const { project, run, base } = started;
    await untilReady(started);
    const before = await metrics(base);
    expect(sample(before, 'nsqworker_messages_received_total', FAST)).toBe(0);

    const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress] });
    resources.defer(() => producer.close());
    for (const id of ['a', 'b', 'c']) await producer.publish('jobs', { id });
    await producer.publish('jobs', { id: 'd', failOnce: true });
    await producer.publish('jobs', 'not json');

    // 5 messages per task; fast runs d twice (one failure, one requeue), and the bad body is
    // discarded on both task channels without running either task, and dead-lettered once, by the
    // first task.
    const text = await eventually(async () => {
      const current = await metrics(base);
      const done = sample(current, 'nsqworker_messages_finished_total', FAST) === 5 && sample(current, 'nsqworker_messages_finished_total', SLOW) === 5;
      return done ? current : undefined;
    }, 'every message to be finished on both channels');
    expect(sample(text, 'nsqworker_messages_received_total', FAST), run.describe()).toBe(6);
    expect(sample(text, 'nsqworker_messages_received_total', SLOW)).toBe(5);
    expect(sample(text, 'nsqworker_messages_requeued_total', FAST)).toBe(1);
    expect(sample(text, 'nsqworker_messages_requeued_total', SLOW)).toBe(0);
    expect(sample(text, 'nsqworker_messages_discarded_total', FAST)).toBe(1);
    expect(sample(text, 'nsqworker_messages_dead_lettered_total', FAST)).toBe(1);
    expect(sample(text, 'nsqworker_messages_discarded_total', SLOW)).toBe(1);
    expect(sample(text, 'nsqworker_messages_dead_lettered_total', SLOW)).toBe(0);
    expect(sample(text, 'nsqworker_messages_deduplicated_total', FAST)).toBe(0);
    expect(sample(text, 'nsqworker_messages_timed_out_total', FAST)).toBe(0);
    expect(sample(text, 'nsqworker_messages_in_flight', FAST)).toBe(0);
    // Every delivery ran through the timed handler, the discarded ones too.
    expect(sample(text, 'nsqworker_task_duration_seconds_count', FAST)).toBe(6);
    expect(sample(text, 'nsqworker_task_duration_seconds_count', SLOW)).toBe(5);
    expect(sample(text, 'nsqworker_task_duration_seconds_bucket', { ...SLOW, le: '+Inf' })).toBe(5);
    expect(sample(text, 'nsqworker_reloads_total', { topic: 'jobs', channel: 'work', result: 'applied' })).toBe(0);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect((await lines(project)).sort()).toEqual(['fast a 1', 'fast b 1', 'fast c 1', 'fast d 2', 'slow a 1', 'slow b 1', 'slow c 1', 'slow d 1']);
  });

  deployTest('counts a task that answers after nsqd timed its message out', async ({ projects, resources }) => {
    const broker = await resources.broker({ msgTimeoutMs: 1000 });
    const started = await startWorker(projects, broker.tcpAddress);
    const { project, run, base } = started;
    await untilReady(started);
    const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress] });
    resources.defer(() => producer.close());
    // slow sleeps 2.5s on the first delivery: nsqd times it out after 1s and delivers it again,
    // which runs at once; the late FIN of the first run is refused with E_FIN_FAILED.
    await producer.publish('jobs', { id: 'late', sleepMs: 2500 });
    const text = await eventually(async () => {
      const current = await metrics(base);
      return sample(current, 'nsqworker_messages_timed_out_total', SLOW) === 1 ? current : undefined;
    }, 'the timed-out answer to be counted');
    expect(sample(text, 'nsqworker_messages_timed_out_total', FAST), run.describe()).toBe(0);
    expect(sample(text, 'nsqworker_messages_received_total', SLOW)).toBe(2);
    expect((await lines(project)).filter((line) => line.startsWith('slow')).sort()).toEqual(['slow late 1', 'slow late 2']);
    // The refused FIN is logged as what it is: a warning naming the message timeout, not a consumer error.
    const late = await run.waitForLine((line) => line.code === 'E_FIN_FAILED', 'the refused FIN to be logged');
    expect(late).toMatchObject({ level: 40, task: 'slow' });
    expect(late.msg).toMatch(/^E_FIN_FAILED FIN [0-9a-f]{16} failed ID not in flight: the message's timeout at nsqd \(--msg-timeout\) passed before this answer/);
    expect(run.lines.filter((line) => String(line.msg).startsWith('consumer error'))).toEqual([]);
  });

  deployTest('exits 2 for a health address that is not host:port, and 1 when its port is taken', async ({ projects, resources }) => {
    const project = await projects.create();
    await project.writeWorker('jobs', 'work', WORKER);
    const bad = await project.run(['--topic', 'jobs', '--channel', 'work', '--health-address', 'localhost']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--health-address "localhost": expected host:port');
    const broker = await resources.broker();
    const taken = broker.httpAddress;
    const busy = await project.run(['--topic', 'jobs', '--channel', 'work', '--nsqd-tcp-address', broker.tcpAddress, '--health-address', taken]);
    expect(busy.code).toBe(1);
    // One line naming the flag, the address and the holder (the broker's HTTP port), no stack: a restart may mend it.
    expect(busy.stderr.trim()).toBe(
      `nsqworker: --health-address ${taken}: the address is already in use by an NSQ server (an nsqd, an nsqlookupd or another nsqworker: it answered as one); stop it, or choose another address`,
    );
  });

  deployTest('answers 503 from the first SIGTERM while running tasks drain, and stops serving last', async ({ projects, resources }) => {
    const broker = await resources.broker();
    const started = await startWorker(projects, broker.tcpAddress, ['--shutdown-timeout', '10s']);
    const { project, run, base } = started;
    await untilReady(started);
    const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress] });
    resources.defer(() => producer.close());
    await producer.publish('jobs', { id: 'slow-one', sleepMs: 3000 });
    await eventually(async () => (sample(await metrics(base), 'nsqworker_messages_in_flight', SLOW) === 1 ? true : undefined), 'the slow task to be running');

    run.kill('SIGTERM');
    const draining = await eventually(async () => {
      const answer = await healthz(base);
      return answer?.status === 503 ? answer : undefined;
    }, '/healthz to answer 503 after SIGTERM');
    expect(draining.body.status).toBe('draining');
    // The slow task is still running: the worker has not exited, and /metrics still answers.
    expect(run.exit).toBeUndefined();
    const text = await metrics(base);
    expect(sample(text, 'nsqworker_draining')).toBe(1);
    expect(sample(text, 'nsqworker_ready')).toBe(0);

    const exit = await run.waitForExit(15_000);
    expect(exit, run.describe()).toEqual({ code: 0, signal: null });
    expect(await lines(project)).toContain('slow slow-one 1');
    expect(await httpGet(`${base}/healthz`)).toEqual({ error: 'ECONNREFUSED' });
    // The health server stopped after the worker and the producer had closed.
    const stopped = run.lines.findIndex((line) => line.msg === 'worker stopped');
    expect(stopped).toBeGreaterThan(-1);
    // The line says what the stop did with the messages in hand: the slow one finished.
    expect(run.lines[stopped]).toMatchObject({ finishedWhileStopping: 1, requeuedWhileStopping: 0 });
  });
});
