/**
 * A mistyped flag or command is named, with the nearest one that exists, before anything else is
 * said (not "--topic and --channel are required"); `nsqworker help` is help.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, type CliProject } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

const WORKER = `
import { z } from 'zod';
import { defineWorker } from 'nsqworker';
export default defineWorker({
  options: z.object({ slowThresholdMs: z.number().default(500).describe('slow page views') }),
  tasks: { async noop() {} },
});
`;

async function project(): Promise<CliProject> {
  const p = await projects.create();
  await p.writeWorker('log', 'pageview', WORKER);
  return p;
}

const FREE = ['--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', 'data'];

describe('typos are named with the nearest suggestion', () => {
  it('unknown runner flags and commands, exit 2', async () => {
    const p = await project();
    const [tpoic, short, lsit, statsFlag, listFlag] = await Promise.all([
      p.run(['--tpoic', 'orders', '--channel', 'email']),
      p.run(['-t', 'orders', '--channel', 'email']),
      p.run(['lsit']),
      p.run(['stats', '--topic', 'log', '--chanel', 'x']),
      p.run(['list', '--workers-dri', 'workers']),
    ]);
    for (const result of [tpoic, short, lsit, statsFlag, listFlag]) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).not.toContain('are required');
    }
    expect(tpoic.stderr).toContain('unknown flag --tpoic; did you mean --topic?');
    expect(short.stderr).toContain('unknown flag -t; did you mean --topic?');
    expect(lsit.stderr).toContain('unknown command "lsit"; did you mean list?');
    expect(statsFlag.stderr).toContain('unknown flag --chanel; did you mean --channel?');
    expect(listFlag.stderr).toContain('unknown flag --workers-dri; did you mean --workers-dir?');
  });

  it("unknown worker flags suggest the worker's own option", async () => {
    const p = await project();
    const result = await p.run(['--topic', 'log', '--channel', 'pageview', ...FREE, '--slow-threshold-ms', '300']);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('unknown flag --slow-threshold-ms; did you mean --slow-threshold?');
  });

  it('`nsqworker help` and `nsqworker help <command>` print help, exit 0', async () => {
    const p = await project();
    const [help, helpList, helpTypo, helpRun] = await Promise.all([p.run(['help']), p.run(['help', 'list']), p.run(['help', 'lsit']), p.run(['help', 'run'])]);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage:');
    expect(help.stdout).toContain('list');
    expect(help.stdout).toContain('--topic'); // the root command's own help, as --help prints it
    expect(helpList.code, helpList.stderr).toBe(0);
    expect(helpList.stdout).toContain('--workers-dir');
    expect(helpTypo.code).toBe(2);
    expect(helpTypo.stderr).toContain('did you mean list?');
    // Running a worker is the root command: `help run` is its help, not a typo of pub.
    expect(helpRun.code, helpRun.stderr).toBe(0);
    expect(helpRun.stdout).toBe(help.stdout);
  });
});
