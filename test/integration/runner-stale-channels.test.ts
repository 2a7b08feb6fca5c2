/**
 * A restart with other tasks: the channels of tasks the worker no longer has stay in the broker's
 * data path and keep a copy of every message. The worker names each at its start, with its depth
 * and the call that deletes it, and says nothing of channels in use or of its pause marker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, publish, type CliProject } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

const worker = (tasks: string[]): string =>
  `import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { ${tasks.map((task) => `${task}() {}`).join(', ')} } });\n`;

async function runOnce(project: CliProject, tasks: string[], publishOne = false): Promise<string[]> {
  await project.writeWorker('orders', 'process', worker(tasks));
  const run = project.startWorker('orders', 'process');
  const { httpAddress } = await run.brokerAddresses();
  await run.subscribed(tasks);
  if (publishOne) await publish(httpAddress, 'orders', 'kept by every channel');
  run.kill('SIGTERM');
  await run.waitForExit();
  return run.lines.filter((line) => line.level === 40 && String(line.msg).includes('looks like a task channel')).map((line) => String(line.msg));
}

describe('task channels of an earlier run', () => {
  it('are named at the start, with their depth and the delete call; channels in use are not', async () => {
    const project = await projects.create();
    expect(await runOnce(project, ['bill', 'notify', 'audit'])).toEqual([]);
    // The next run drops notify and audit; a message published while it runs lands in their channels too.
    expect(await runOnce(project, ['bill', 'ship'], true)).toEqual([
      expect.stringMatching(/^channel process\.audit looks like a task channel of an earlier run: none of this worker's tasks consume it \(process\.bill, process\.ship\)/),
      expect.stringMatching(/^channel process\.notify looks like/),
    ]);
    const warnings = await runOnce(project, ['bill', 'ship']);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('(1 now)');
    expect(warnings[0]).toMatch(/Delete it with: curl -X POST 'http:\/\/127\.0\.0\.1:\d+\/channel\/delete\?topic=orders&channel=process\.audit'/);
  });

  it('from several tasks to one: the task channels stay and are named; the worker channel is in use', async () => {
    const project = await projects.create();
    await runOnce(project, ['bill', 'ship']);
    const warnings = await runOnce(project, ['bill']);
    expect(warnings.map((warning) => warning.split(' ')[1])).toEqual(['process.bill', 'process.ship']);
  });
});
