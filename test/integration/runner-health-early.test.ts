/**
 * /healthz answers from the moment the process knows where to listen: a worker's config and code
 * load through tsx for a second or more, and a probe meanwhile must get 503 `starting`, not a
 * refused connection. The worker here does not finish loading until the test says so (it waits at
 * its top level for a file), so "while loading" is a state the test controls, not a race.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { CliProjects, eventually, type CliProject, type CliRun } from './helpers/cli-project.ts';
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

type HealthAnswer = NonNullable<Awaited<ReturnType<typeof healthz>>>;

/**
 * Starts the worker with its health address on a probed free port, and returns its first /healthz
 * answer. The worker reads the address before it can log (the test's point), so it cannot pick its
 * own port and say which; another test's server may take the probed port first (its 404 NOT_FOUND
 * answered once): then the worker exits naming the address in use, and starts again on another.
 */
async function startWithHealthPort(start: (address: string) => CliRun): Promise<{ run: CliRun; base: string; first: HealthAnswer }> {
  for (let attempt = 1; ; attempt++) {
    const address = `127.0.0.1:${await freePort()}`;
    const run = start(address);
    const base = `http://${address}`;
    const first = await eventually(() => healthz(base), '/healthz to answer', 20_000);
    if (first.status !== 404 || attempt === 3) return { run, base, first };
    await run.waitForExit(20_000);
    expect(`${run.stderr}${run.text.join('\n')}`, run.describe()).toContain('already in use');
  }
}

async function expectStartingThenReady(project: CliProject, start: (address: string) => CliRun): Promise<void> {
  const { run, base, first } = await startWithHealthPort(start);
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
    await expectStartingThenReady(project, (address) => project.startWorker('mail', 'out', ['--health-address', address]));
  });

  it('answers 503 starting before the worker code has loaded (address from the environment)', async () => {
    const project = await slowProject();
    await expectStartingThenReady(project, (address) => project.startWorker('mail', 'out', [], { NSQWORKER_HEALTH_ADDRESS: address }));
  });

  it('answers 503 starting before the worker code has loaded (address from nsqworker.config.ts)', async () => {
    const project = await slowProject();
    await expectStartingThenReady(project, (address) => {
      // Written before the start: the worker reads it as it starts.
      writeFileSync(project.path('nsqworker.config.ts'), `export default { healthAddress: '${address}' };\n`);
      return project.startWorker('mail', 'out');
    });
  });
});
