/**
 * Workers that joined another worker's embedded broker carry on when that worker stops: one of them
 * starts the broker on the same data path (once the stopped one has released it), the others join
 * that one, and messages keep reaching every task. A worker whose --data-path is not the stopped
 * broker's says so in one line and exits 1. (The embedded broker is ours by nature: there is no
 * real-nsqd variant of this.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, eventually, publish, type CliProject, type CliRun } from './helpers/cli-project.ts';
import { freePort } from './deploy-support.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

const RECORDING = `
import { appendFile } from 'node:fs/promises';
import { defineWorker } from 'nsqworker';
async function record(message, context) {
  await appendFile('ran.jsonl', JSON.stringify({ task: context.task, body: message.text() }) + '\\n');
}
export default defineWorker({ tasks: { count: record, store: record } });
`;
/** Records each run's start, then holds it until the file release exists, and records its end. */
const HOLDING = `
import { appendFileSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineWorker } from 'nsqworker';
const record = (at, message) => appendFileSync('runs.jsonl', JSON.stringify({ at, attempts: message.attempts }) + '\\n');
export default defineWorker({
  tasks: {
    async run(message) {
      record('start', message);
      while (!existsSync('release')) await sleep(10);
      record('done', message);
    },
  },
});
`;
const IDLE = `import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { async run() {} } });\n`;

async function worker(topic: string, channel: string, source: string): Promise<CliProject> {
  const p = await projects.create();
  await p.writeWorker(topic, channel, source);
  return p;
}

/** Waits until `task` has run `body` in the project. */
async function ran(p: CliProject, run: CliRun, task: string, body: string): Promise<void> {
  await eventually(async () => ((await p.records<{ task: string; body: string }>('ran.jsonl')).some((r) => r.task === task && r.body === body) ? true : undefined), `${task} to run ${body}`, 20_000).catch(
    (error: Error) => {
      throw new Error(`${error.message}\n${run.describe()}`);
    },
  );
}

async function fixedAddresses(): Promise<string[]> {
  return ['--broker-tcp-address', `127.0.0.1:${await freePort()}`, '--broker-http-address', `127.0.0.1:${await freePort()}`];
}

/**
 * Starts the first worker, whose embedded broker the others join, on probed free ports (a takeover
 * needs known addresses, not port 0). Another test's server may take a probed port before the broker
 * listens: the worker then exits naming the address in use, and starts again on others.
 */
async function startHost(host: CliProject, data: string): Promise<{ first: CliRun; addresses: string[] }> {
  for (let attempt = 1; ; attempt++) {
    const addresses = await fixedAddresses();
    const first = host.startWorker('other', 'job', [...addresses, '--data-path', data]);
    try {
      await first.waitForMessage('worker other/job running');
      return { first, addresses };
    } catch (error) {
      if (attempt === 3 || first.exit === undefined || !`${first.stderr}${first.text.join('\n')}`.includes('already in use')) throw error;
    }
  }
}

describe('a worker on a joined embedded broker, when that broker stops', () => {
  it('starts the broker itself on the same data path, another orphan joins it, and every task carries on', async () => {
    const host = await worker('other', 'job', IDLE);
    const data = host.path('data');
    const { first, addresses } = await startHost(host, data);
    const { httpAddress } = await first.brokerAddresses();

    const logProject = await worker('log', 'pageview', RECORDING);
    const auditProject = await worker('log', 'audit', RECORDING);
    const orphans = [
      logProject.startWorker('log', 'pageview', [...addresses, '--data-path', data]),
      auditProject.startWorker('log', 'audit', [...addresses, '--data-path', data]),
    ];
    for (const run of orphans) {
      await run.waitForMessage('already running');
      await run.subscribed(['count', 'store']);
    }
    await publish(httpAddress, 'log', 'before');
    for (const task of ['count', 'store']) await ran(logProject, orphans[0]!, task, 'before');
    // Nobody consumes this topic: the stopped broker persists it, and its successor must hold it.
    await publish(httpAddress, 'kept', 'waiting');

    first.kill('SIGTERM');
    expect((await first.waitForExit()).code).toBe(0);
    // One starts the broker, the other joins it; both carry on.
    const outcomes = await Promise.all(
      orphans.map(async (run) => {
        const line = await run.waitForLine(
          (l) => typeof l.msg === 'string' && (l.msg.includes('replacing the one that stopped') || l.msg.includes('joined the broker')),
          'a replacement broker',
          20_000,
        );
        return String(line.msg).includes('replacing') ? 'started' : 'joined';
      }),
    );
    expect(outcomes.sort()).toEqual(['joined', 'started']);
    await eventually(async () => (await fetch(`http://${httpAddress}/ping`).catch(() => undefined))?.status === 200 || undefined, 'the new broker');
    const kept = (await (await fetch(`http://${httpAddress}/stats?format=json&topic=kept`)).json()) as { topics: Array<{ depth: number }> };
    expect(kept.topics[0]?.depth).toBe(1);
    await publish(httpAddress, 'log', 'after');
    for (const task of ['count', 'store']) {
      await ran(logProject, orphans[0]!, task, 'after');
      await ran(auditProject, orphans[1]!, task, 'after');
    }
    for (const run of orphans) {
      expect(run.exit).toBeUndefined();
      expect(run.stderr).toBe('');
    }
  });

  it('knows a message it processed when the broker that took over, on its own address, delivers it again', async () => {
    const host = await worker('other', 'job', IDLE);
    const data = host.path('data');
    const { first, addresses } = await startHost(host, data);
    const sharedHttp = addresses[3];
    // Joins the broker by its HTTP address; if that broker stops, starts the next on its own TCP address.
    const p = await worker('held', 'once', HOLDING);
    const joined = p.startWorker('held', 'once', ['--broker-tcp-address', `127.0.0.1:${await freePort()}`, '--broker-http-address', sharedHttp!, '--data-path', data, '--log-level', 'debug']);
    await joined.waitForMessage('already running');
    await joined.subscribed(['run']);
    await publish(sharedHttp!, 'held', 'm1');
    await eventually(async () => ((await p.records<{ at: string }>('runs.jsonl')).length === 1 ? true : undefined), 'the task to start', 20_000);

    // The broker stops with the message in flight (kept for the next broker), and the FIN of the run
    // that ends after it is lost: the next broker delivers the message again, from another address.
    first.kill('SIGTERM');
    expect((await first.waitForExit()).code).toBe(0);
    await joined.waitForLine((line) => String(line.msg).includes('replacing the one that stopped'), 'the next broker', 20_000);
    await p.write('release', '');
    const known = await joined.waitForLine((line) => line.msg === 'already processed: finishing without running the task again', 'the redelivery to be known', 20_000);
    expect(known.messageId ?? known.dedupKey).toBeDefined();
    expect(await p.records<{ at: string; attempts: number }>('runs.jsonl')).toEqual([
      { at: 'start', attempts: 1 },
      { at: 'done', attempts: 1 },
    ]);
  });

  it('exits 1 with one line when its --data-path is not the stopped broker’s', async () => {
    const host = await worker('other', 'job', IDLE);
    const { first, addresses } = await startHost(host, host.path('data'));

    const p = await worker('log', 'pageview', RECORDING);
    const orphan = p.startWorker('log', 'pageview', [...addresses, '--data-path', p.path('elsewhere')]);
    await orphan.waitForMessage('already running');
    await orphan.subscribed(['count', 'store']);
    first.kill('SIGTERM');
    const exit = await orphan.waitForExit(20_000);
    expect(exit.code, orphan.describe()).toBe(1);
    const errors = orphan.lines.filter((line) => Number(line.level) >= 50);
    expect(errors.map((line) => line.msg)).toEqual([
      `the embedded broker at ${addresses[1]} stopped and its messages are in ${host.path('data')}, not in this worker's --data-path ${p.path('elsewhere')}: restart this worker with --data-path ${host.path('data')}`,
    ]);
    expect(orphan.stderr).toBe('');
  });
});
