/**
 * /healthz answers from the moment the process knows where to listen: a worker's config and code
 * load through tsx for a second or more, and a probe meanwhile must get 503 `starting`, not a
 * refused connection. The worker here does not finish loading until the test says so (it waits at
 * its top level for a file), so "while loading" is a state the test controls, not a race.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, eventually, type CliProject } from './helpers/cli-project.ts';
import { freePort, httpGet, sample } from './deploy-support.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

const SLOW_TO_LOAD = `
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineWorker } from 'nsqworker';

writeFileSync('loading', '');
while (!existsSync('go')) await sleep(20);

export default defineWorker({ tasks: { async send() {} } });
`;

async function healthz(base: string): Promise<{ status: number; body: { status: string; ready: boolean } } | undefined> {
  const answer = await httpGet(`${base}/healthz`);
  if ('error' in answer) return undefined;
  return { status: answer.status, body: JSON.parse(answer.text) as { status: string; ready: boolean } };
}

async function slowProject(): Promise<CliProject> {
  const project = await projects.create();
  await project.writeWorker('mail', 'out', SLOW_TO_LOAD);
  return project;
}

async function expectStartingThenReady(project: CliProject, base: string, run: ReturnType<CliProject['startWorker']>): Promise<void> {
  const first = await eventually(() => healthz(base), '/healthz to answer', 20_000);
  expect(first, run.describe()).toEqual({ status: 503, body: { ready: false, status: 'starting', tasks: {} } });
  const metrics = await httpGet(`${base}/metrics`);
  expect('status' in metrics && metrics.status).toBe(200);
  expect('text' in metrics ? sample(metrics.text, 'nsqworker_ready') : undefined).toBe(0);
  // Nothing has run yet: the worker is still loading.
  expect(run.lines.some((line) => String(line.msg).includes('running'))).toBe(false);
  await project.write('go', '');
  await run.waitForMessage('worker mail/out running', {}, 20_000);
  const ready = await eventually(async () => {
    const answer = await healthz(base);
    return answer?.status === 200 ? answer : undefined;
  }, '/healthz 200 once subscribed');
  expect(ready.body).toMatchObject({ ready: true, status: 'ok' });
}

describe('/healthz while the worker loads', () => {
  it('answers 503 starting before the worker code has loaded (address from the command line)', async () => {
    const project = await slowProject();
    const port = await freePort();
    const run = project.startWorker('mail', 'out', ['--health-address', `127.0.0.1:${port}`]);
    await expectStartingThenReady(project, `http://127.0.0.1:${port}`, run);
  });

  it('answers 503 starting before the worker code has loaded (address from the environment)', async () => {
    const project = await slowProject();
    const port = await freePort();
    const run = project.startWorker('mail', 'out', [], { NSQWORKER_HEALTH_ADDRESS: `127.0.0.1:${port}` });
    await expectStartingThenReady(project, `http://127.0.0.1:${port}`, run);
  });

  it('answers 503 starting before the worker code has loaded (address from nsqworker.config.ts)', async () => {
    const project = await slowProject();
    const port = await freePort();
    await project.write('nsqworker.config.ts', `export default { healthAddress: '127.0.0.1:${port}' };\n`);
    const run = project.startWorker('mail', 'out');
    await expectStartingThenReady(project, `http://127.0.0.1:${port}`, run);
  });
});
