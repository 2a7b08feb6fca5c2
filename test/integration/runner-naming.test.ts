/**
 * Files that look like workers but break the naming rule are reported, in `list` and at start,
 * with the rule; a worker class whose methods are not named as tasks is told how tasks are named
 * and which methods it has.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

const WORKER = `
import { defineWorker } from 'nsqworker';
export default defineWorker({ tasks: { async noop() {} } });
`;

const SEND_WORKER = `
import { Worker } from 'nsqworker';
export default class EmailWorker extends Worker {
  async send() {}
  format() { return ''; }
}
`;

const FREE = ['--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', 'data'];
const RULE = 'worker files are workers/<topic>/<topic>_<channel>_worker.ts';

describe('bad names are reported with the naming rule', () => {
  it('in list, and when a run asks for such a worker', async () => {
    const p = await projects.create();
    await p.writeWorker('log', 'pageview', WORKER);
    await p.write('workers/orders!/orders!_email_worker.ts', WORKER);
    await p.write('workers/orders/orders_new signup_worker.ts', WORKER);
    const listed = await p.run(['list']);
    expect(listed.code).toBe(2);
    expect(listed.stdout).toContain('log/pageview  tasks: noop');
    expect(listed.stdout).toMatch(/NOT A WORKER: .*workers\/orders!\/orders!_email_worker\.ts: the folder name "orders!" is not a valid topic name/);
    expect(listed.stdout).toMatch(/NOT A WORKER: .*orders_new signup_worker\.ts: "new signup" is not a valid channel name/);
    expect(listed.stdout).toContain(RULE);

    const [badTopic, missing] = await Promise.all([
      p.run(['--topic', 'orders!', '--channel', 'email', ...FREE]),
      p.run(['--topic', 'orders', '--channel', 'email', ...FREE]),
    ]);
    expect(badTopic.code).toBe(2);
    expect(badTopic.stderr).toContain('--topic "orders!" is not a valid topic name');
    expect(badTopic.stderr).toContain(RULE);
    expect(badTopic.stderr).not.toContain('create workers/orders!');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/not workers by their names: .*orders!_email_worker\.ts/);
  });

  it('a worker file straight in workers/, not in its topic folder', async () => {
    const p = await projects.create();
    await p.write('workers/greet_hello_worker.ts', WORKER);
    // The folder its name fits, the longest (topics may hold underscores); no guess when it splits two ways.
    await p.writeWorker('user_events', 'signup', WORKER);
    await p.write('workers/user_events_login_worker.ts', WORKER);
    await p.write('workers/audit_log_all_worker.ts', WORKER);
    const listed = await p.run(['list']);
    expect(listed.code).toBe(2);
    expect(listed.stdout).toContain('user_events/signup  tasks: noop  (workers/user_events/user_events_signup_worker.ts)');
    expect(listed.stdout).toContain('NOT A WORKER: workers/user_events_login_worker.ts: it is not in a topic folder (move it to workers/user_events/user_events_login_worker.ts)');
    expect(listed.stdout).toContain('NOT A WORKER: workers/audit_log_all_worker.ts: it is not in a topic folder (move it to workers/<topic>/audit_log_all_worker.ts)');
    // Paths as a run names them, and the topic when the name splits only one way.
    expect(listed.stdout).toContain('NOT A WORKER: workers/greet_hello_worker.ts: it is not in a topic folder (move it to workers/greet/greet_hello_worker.ts)');
    const run = await p.run(['--topic', 'greet', '--channel', 'hello', ...FREE]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe('nsqworker: no worker for topic greet channel hello: workers/greet_hello_worker.ts is not in its topic folder: move it to workers/greet/greet_hello_worker.ts');
  });

  it("a worker file in another topic's folder, and one named without _worker in a folder of no worker", async () => {
    const p = await projects.create();
    await p.write('workers/order/orders_email_worker.ts', WORKER);
    await p.write('workers/billing/billing_invoice.ts', WORKER);
    // Beside a worker, a file so named is a helper: not reported.
    await p.writeWorker('log', 'pageview', WORKER);
    await p.write('workers/log/log_format.ts', 'export const format = 1;\n');
    // But one whose name says worker another way is reported, beside a worker too, with the right name.
    await p.write('workers/log/log_search.worker.ts', WORKER);
    await p.write('workers/log/log_audit_workers.ts', WORKER);
    await p.write('workers/refunds/refunds_seen_Worker.ts', WORKER);
    await p.write('workers/refunds/refunds-issued-worker.ts', WORKER);
    // A helper named with dashes that defines a worker (a base class, a fake for tests): no worker by its name.
    await p.write('workers/refunds/refunds-base.ts', WORKER);
    // A copy under the wrong name beside the worker itself: renaming it would overwrite the worker.
    await p.write('workers/log/log-pageview-worker.ts', WORKER);
    // A folder per channel, one too deep.
    await p.write('workers/refunds/audit/refunds_audit_worker.ts', WORKER);
    // Nor is one in a folder of no worker that defines none, or a test file.
    await p.write('workers/shared/shared_db.ts', 'export const db = 1;\n');
    await p.write('workers/shared/shared_db.test.ts', WORKER);
    // A worker of its own folder is not offered to a topic its name also starts with.
    await p.write('workers/user_events/user_events_signup_worker.ts', WORKER);
    await p.write('workers/shared/billing_sms_worker.mjs', WORKER);
    const [listed, misplaced, unsuffixed, ownFolder] = await Promise.all([
      p.run(['list']),
      p.run(['--topic', 'orders', '--channel', 'email', ...FREE]),
      p.run(['--topic', 'billing', '--channel', 'sms', ...FREE]),
      p.run(['--topic', 'user', '--channel', 'events_signup', ...FREE]),
    ]);
    expect(listed.code).toBe(2);
    expect(listed.stdout).toContain(
      `NOT A WORKER: workers/order/orders_email_worker.ts: the file name does not start with its folder's topic (order_): move it to the folder of its topic, or name it order_<channel>_worker.ts`,
    );
    // With the folder of the topic it names there (the longest such name: topics may hold underscores), that folder.
    expect(listed.stdout).toContain(
      `NOT A WORKER: workers/shared/billing_sms_worker.mjs: the file name does not start with its folder's topic (shared_): move it to workers/billing/billing_sms_worker.mjs, or rename it shared_sms_worker.mjs`,
    );
    expect(listed.stdout).toContain(`NOT A WORKER: workers/billing/billing_invoice.ts: it has no _worker suffix (rename it to billing_invoice_worker.ts)`);
    expect(listed.stdout).toContain(`NOT A WORKER: workers/log/log_search.worker.ts: its name ends in .worker where a worker's ends in _worker (rename it to log_search_worker.ts)`);
    expect(listed.stdout).toContain(`NOT A WORKER: workers/log/log_audit_workers.ts: its name ends in _workers where a worker's ends in _worker (rename it to log_audit_worker.ts)`);
    expect(listed.stdout).toContain(`NOT A WORKER: workers/refunds/refunds_seen_Worker.ts: its name ends in _Worker where a worker's ends in _worker (rename it to refunds_seen_worker.ts)`);
    expect(listed.stdout).toContain(`NOT A WORKER: workers/refunds/refunds-issued-worker.ts: its name joins topic, channel and worker with dashes, where a worker's joins them with underscores (rename it to refunds_issued_worker.ts)`);
    expect(listed.stdout).not.toContain('refunds-base');
    expect(listed.stdout).toContain(`NOT A WORKER: workers/log/log-pageview-worker.ts: its name joins topic, channel and worker with dashes, where a worker's joins them with underscores (log_pageview_worker.ts is there already: keep one)`);
    expect(listed.stdout).toContain(`NOT A WORKER: workers/refunds/audit/refunds_audit_worker.ts: it is a folder too deep (move it to workers/refunds/refunds_audit_worker.ts)`);
    expect(listed.stdout).not.toContain('log_format');
    expect(listed.stdout).not.toContain('shared_db');
    expect(misplaced.stderr.trim()).toBe('nsqworker: no worker for topic orders channel email: workers/order/orders_email_worker.ts is in the folder of another topic: move it to workers/orders/orders_email_worker.ts');
    // Moved as it is: a .mjs file stays one.
    expect(unsuffixed.stderr.trim()).toBe('nsqworker: no worker for topic billing channel sms: workers/shared/billing_sms_worker.mjs is in the folder of another topic: move it to workers/billing/billing_sms_worker.mjs');
    expect(ownFolder.stderr).not.toContain('user_events_signup_worker.ts is in the folder');
    expect(ownFolder.stderr).toContain('create workers/user/user_events_signup_worker.ts; workers found: --topic log --channel pageview, --topic user_events --channel signup;');
  });

  it('at the start of dev', async () => {
    const p = await projects.create();
    await p.writeWorker('log', 'pageview', WORKER);
    await p.write('workers/orders!/orders!_email_worker.ts', WORKER);
    const dev = p.spawn(['dev', ...FREE]);
    const line = await dev.waitForMessage('not a worker by its name');
    expect(String(line.msg)).toContain('orders!_email_worker.ts');
    expect(String(line.msg)).toContain(RULE);
    // The well-named worker runs beside it.
    await dev.waitForMessage('worker log/pageview running');
    dev.kill('SIGTERM');
    expect((await dev.waitForExit()).code).toBe(0);
  });
});

describe('a worker run beside a misnamed file', () => {
  it('warns about it at start, with the rule', async () => {
    const p = await projects.create();
    await p.writeWorker('log', 'pageview', WORKER);
    await p.write('workers/log/log_page view_worker.ts', WORKER);
    const run = p.startWorker('log', 'pageview');
    const line = await run.waitForMessage('not a worker by its name');
    expect(line.level).toBe(40);
    expect(String(line.msg)).toContain('"page view" is not a valid channel name');
    expect(String(line.msg)).toContain(RULE);
    await run.waitForMessage('worker log/pageview running');
  });
});

describe('a worker class without task methods', () => {
  it('is told how tasks are named and which methods were found', async () => {
    const p = await projects.create();
    await p.writeWorker('orders', 'email', SEND_WORKER);
    const [run, listed] = await Promise.all([p.run(['--topic', 'orders', '--channel', 'email', ...FREE]), p.run(['list'])]);
    expect(run.code).toBe(2);
    for (const text of [run.stderr, listed.stdout]) {
      expect(text).toContain('the worker has no tasks');
      expect(text).toContain('a task is a method whose name ends in Task or _task (sendTask() is the task "send")');
      expect(text).toContain('methods found: send(), format()');
    }
  });
});
