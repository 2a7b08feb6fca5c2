/**
 * `nsqworker stats --channel C` where C is a worker's channel with several tasks: the broker has no
 * channel C but `C.<task>` for each task, and stats shows every one of them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { brokerStats, CliProjects, eventually, publish } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

const WORKER = `
import { defineWorker } from 'nsqworker';
export default defineWorker({ tasks: { async count() {}, async store() {} } });
`;

describe('stats for a worker channel', () => {
  it('shows all of its task channels', async () => {
    const p = await projects.create();
    await p.writeWorker('log', 'pageview', WORKER);
    const run = p.startWorker('log', 'pageview');
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['count', 'store']);
    await publish(httpAddress, 'log', 'x');
    await eventually(async () => {
      const channels = (await brokerStats(httpAddress)).topics.find((topic) => topic.topic_name === 'log')?.channels ?? [];
      return channels.filter((channel) => channel.message_count === 1).length === 2 ? true : undefined;
    }, 'the message counted on both task channels');
    // The marker of a pause a killed worker left (runner/ops/task-channels.ts) is not a task: no row.
    expect((await fetch(`http://${httpAddress}/channel/create?topic=log&channel=pageview.paused-by-nsqworker`, { method: 'POST' })).status).toBe(200);
    const stats = await p.run(['stats', '--topic', 'log', '--channel', 'pageview', '--nsqd-http-address', httpAddress, '--count', '2', '--interval', '50ms']);
    expect(stats.code, stats.stderr).toBe(0);
    const lines = stats.stdout.split('\n');
    expect(lines[1]).toMatch(/^channel\s+total\s+mem/);
    expect(stats.stdout).not.toContain('paused-by-nsqworker');
    const rows = lines.filter((line) => /^pageview\.(count|store) /.test(line));
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(['pageview.count', 'pageview.store', 'pageview.count', 'pageview.store']);
    // msgs (after the name, five depth cells, '|', req and t-o) counts the message once per task channel.
    expect(rows.slice(0, 2).map((row) => row.trim().split(/\s+/)[9])).toEqual(['1', '1']);

    const absent = await p.run(['stats', '--topic', 'log', '--channel', 'nope', '--nsqd-http-address', httpAddress, '--count', '1']);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain('failed to find channel(nope)');
  });
});
