/**
 * The console's workers and dead letters in headless Chromium, with a real worker (the CLI, from
 * the build) on its embedded broker: the worker appears with its tasks, and a dead letter replayed
 * from the page runs again on the failed task only.
 */
import { afterAll, afterEach, beforeAll, expect, it, describe } from 'vitest';
import { startConsole, type ConsoleHandle } from '../../console/server/server.ts';
import { hasChromium, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { brokerStats, CliProjects, eventually, publish } from './helpers/cli-project.ts';

const projects = new CliProjects();
const consoles: ConsoleHandle[] = [];
afterEach(async () => {
  for (const web of consoles.splice(0)) await web.close();
  await projects.cleanup();
});

type Ran = { task: string; body: string };

// notify fails until the test writes `fixed`, as a task does until its outage is over.
const WORKER = `
import { appendFile, access } from 'node:fs/promises';
import { defineWorker } from 'nsqworker';
async function record(message, context) {
  await appendFile('ran.jsonl', JSON.stringify({ task: context.task, body: message.text() }) + '\\n');
}
export default defineWorker({
  tasks: {
    async ledger(message, context) { await record(message, context); },
    async notify(message, context) {
      await access('fixed').catch(() => { throw new Error('mail server down'); });
      await record(message, context);
    },
  },
});
`;

describe.skipIf(!hasChromium && process.env.CI !== 'true')('console: workers and dead letters', () => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows the worker with its tasks and state, and replays a dead letter from the page on the failed task only', async () => {
    const project = await projects.create();
    await project.writeWorker('payments', 'settle', WORKER);
    const run = project.startWorker('payments', 'settle', ['--max-attempts', '1', '--health-address', '127.0.0.1:0']);
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['ledger', 'notify']);
    const web = await startConsole({ httpAddress: '127.0.0.1:0', nsqdHttpAddresses: [httpAddress], pollIntervalMs: 150 });
    consoles.push(web);

    await publish(httpAddress, 'payments', '{"amount":5}');
    await eventually(async () => ((await brokerStats(httpAddress)).topics.find((t) => t.topic_name === 'payments.dead_letter')?.depth === 1 ? true : undefined), 'the dead letter');

    const page = await browser.context.newPage();
    await page.goto(`${web.url}#/workers`);
    await page.locator('#workers tr[data-worker="payments/settle"][data-task="ledger"]').waitFor();
    await page.locator('#workers tr[data-worker="payments/settle"][data-task="notify"]').waitFor();
    await page.locator('#workers a:has-text("1 waiting")').waitFor();
    // Its state comes from its own /metrics, at the health address its user agent names.
    await page.locator('#workers tr[data-task="notify"] .badge:text-is("1 ready")').waitFor();
    // A worker with no health address serves none: connected, and the badge's title says how to see more.
    const { tcpAddress } = await run.brokerAddresses();
    await project.writeWorker('audit', 'log', "import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { async keep() {} } });\n");
    const plain = project.startWorker('audit', 'log', ['--nsqd-tcp-address', tcpAddress, '--nsqd-http-address', httpAddress]);
    await plain.subscribed(['keep']);
    const connected = page.locator('#workers tr[data-worker="audit/log"] .badge:text-is("1 connected")');
    await connected.waitFor();
    expect(await connected.getAttribute('title')).toContain('run it with --health-address');
    // One that has a health address which does not answer (stopped here, as a hung process) is not "connected".
    run.child.kill('SIGSTOP');
    try {
      await page.locator('#workers tr[data-task="notify"] .badge:text-is("1 not answering")').waitFor();
    } finally {
      run.child.kill('SIGCONT');
    }
    await page.locator('#workers tr[data-task="notify"] .badge:text-is("1 ready")').waitFor();

    await project.write('fixed', 'the outage is over');
    await page.click('#workers a:has-text("1 waiting")');
    const letter = page.locator('#dead-letters tbody tr[data-id]');
    await letter.waitFor();
    expect(await letter.locator('.error-text').textContent()).toBe('mail server down');
    expect(await letter.locator('code.preview').textContent()).toBe('{"amount":5}');
    await letter.locator('button[data-action="replay"]').click();
    await page.click('dialog.confirm [data-confirm]');

    await eventually(async () => ((await project.records<Ran>('ran.jsonl')).some((r) => r.task === 'notify') ? true : undefined), 'the replay to run notify');
    const ran = await project.records<Ran>('ran.jsonl');
    expect(ran).toEqual([
      { task: 'ledger', body: '{"amount":5}' },
      { task: 'notify', body: '{"amount":5}' },
    ]);
    // The dead letter left the console's channel once the replay was published.
    await eventually(async () => {
      const channel = (await brokerStats(httpAddress)).topics.find((t) => t.topic_name === 'payments.dead_letter')?.channels.find((c) => c.channel_name === 'nsqworker_console');
      return channel !== undefined && channel.depth === 0 && channel.in_flight_count === 0 ? true : undefined;
    }, 'the dead letter to be finished');
    await page.locator('#dead-letters td.empty').waitFor();
    await page.close();
  });
});
