/**
 * The runner's command line as a user meets it: `--help` for a worker, and the usage errors that
 * exit with status 2 and say what to fix. Options that parse are checked by what a task sees.
 */
import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, eventually, publish, type CliProject } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

/** A worker with one option of each kind; its task writes the options it was given to options.jsonl. */
const OPTIONS_WORKER = `
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineWorker } from 'nsqworker';

export default defineWorker({
  options: z.object({
    slowThresholdMs: z.number().int().min(0).default(500).describe('page views slower than this are stored'),
    batchSize: z.number().int().min(1).max(100).default(10).describe('rows written per batch'),
    mode: z.enum(['fast', 'safe']).default('safe').describe('how rows are written'),
    label: z.string().default('main').describe('label written with each row'),
    dryRun: z.boolean().default(false).describe('log rows instead of writing them'),
    offset: z.number().default(0).describe('added to every value'),
    skipIds: z.array(z.number().int()).default([]).describe('ids not written'),
    routes: z.array(z.object({ path: z.string(), weight: z.number() })).default([]).describe('where rows go'),
  }),
  tasks: {
    async store(_message, context) {
      await appendFile('options.jsonl', JSON.stringify(context.options) + '\\n');
    },
  },
});
`;

async function projectWithWorker(): Promise<CliProject> {
  const project = await projects.create();
  await project.writeWorker('log', 'pageview', OPTIONS_WORKER);
  await project.writeWorker('log', 'audit', OPTIONS_WORKER);
  return project;
}

/** Starts the worker with `args`, publishes one message, and returns the options its task saw. */
async function optionsSeen(project: CliProject, args: string[]): Promise<Record<string, unknown>> {
  const run = project.startWorker('log', 'pageview', args);
  const { httpAddress } = await run.brokerAddresses();
  await run.subscribed(['store']);
  await publish(httpAddress, 'log', 'x');
  const [seen] = await eventually(async () => {
    const records = await project.records('options.jsonl');
    return records.length > 0 ? records : undefined;
  }, 'the task to record its options');
  return seen!;
}

// Free ports even here: should a usage error go unnoticed, the worker must not take the default ports.
const RUN = ['--topic', 'log', '--channel', 'pageview', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', 'data'];

describe('nsqworker --topic T --channel C --help', () => {
  it("lists the runner's flags and the worker's options with type, default and description", async () => {
    const project = await projectWithWorker();
    const { code, stdout, stderr } = await project.run([...RUN, '--help']);
    expect(code, stderr).toBe(0);
    for (const flag of ['--max-attempts <number>', '--requeue-delay <duration>', '--shutdown-timeout <duration>', '--nsqd-tcp-address', '--data-path']) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain('Worker log/pageview: tasks store');
    const workerPart = stdout.slice(stdout.indexOf('Options of worker log/pageview:'));
    expect(workerPart).toMatch(/--slow-threshold <duration>\s+page views slower than this are stored \(default: 500ms\)\s+\[NSQWORKER_SLOW_THRESHOLD\]/);
    expect(workerPart).toMatch(/--batch-size <number>\s+rows written per batch \(default: 10\)/);
    expect(workerPart).toMatch(/--mode <fast\|safe>\s+how rows are written \(default: "safe"\)/);
    expect(workerPart).toMatch(/--label <string>\s+label written with each row \(default: "main"\)/);
    expect(workerPart).toMatch(/--dry-run\s+log rows instead of writing them \(default: false\)/);
    expect(workerPart).toMatch(/--skip-ids <number, repeatable>\s+ids not written/);
    // A stray word after a boolean (refused by a run) leaves the runner's flags around it shown as given.
    const stray = await project.run([...RUN, '--dry-run', 'maybe', '--help']);
    expect(stray.stdout).toMatch(/  --topic <string> .*\("log" from flag --topic\)/);
    expect(workerPart).toMatch(/--routes <json, repeatable>\s+where rows go/);
    // What the flag's column says is not said again in its description.
    expect(stdout).not.toMatch(/repeatable>.*\(repeatable\)/);
    // Runner flags are listed once, before the worker's.
    expect(workerPart).not.toContain('--max-attempts');
  });

  it('exits after its output, and so does list, when a worker module starts a timer at its top level', async () => {
    const project = await projects.create();
    await project.writeWorker('log', 'pageview', "import { defineWorker } from 'nsqworker';\nsetInterval(() => {}, 1000);\nexport default defineWorker({ tasks: { async store() {} } });\n");
    const help = await project.run(['--topic', 'log', '--channel', 'pageview', '--help'], {}, 10_000);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Worker log/pageview: tasks store');
    const list = await project.run(['list'], {}, 10_000);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('log/pageview');
  });

  it('without a worker, lists the runner flags only', async () => {
    const project = await projectWithWorker();
    const { code, stdout } = await project.run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--max-attempts <number>');
    expect(stdout).not.toContain('--slow-threshold');
    expect(stdout).toContain("A worker's own options are listed with --topic and --channel naming it (nsqworker list shows them all).");
  });
});

describe('usage errors exit with status 2', () => {
  it('a value that is not a duration names the flag', async () => {
    const project = await projectWithWorker();
    const { code, stderr } = await project.run([...RUN, '--slow-threshold', 'abc']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--slow-threshold "abc": expected a duration .*250ms/);
  });

  it('a duration given without its unit is refused, as nsqd refuses it: 90 could be seconds or milliseconds', async () => {
    const project = await projectWithWorker();
    const [flag, variable, zero] = await Promise.all([
      project.run([...RUN, '--requeue-delay', '90']),
      project.run(RUN, { NSQWORKER_SLOW_THRESHOLD: '5' }),
      project.run([...RUN, '--slow-threshold', '0', '--help']),
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr.trim()).toBe('nsqworker: --requeue-delay "90": expected a duration with its unit, such as 90s or 90ms');
    expect(variable.code).toBe(2);
    expect(variable.stderr.trim()).toBe('nsqworker: NSQWORKER_SLOW_THRESHOLD "5": expected a duration with its unit, such as 5s or 5ms');
    // Go's one exception: 0 needs no unit.
    expect(zero.code, zero.stderr).toBe(0);
    expect(zero.stdout).toMatch(/--slow-threshold <duration>.*\(0s from flag --slow-threshold; default: 500ms\)/);
  });

  it("a value failing the worker's schema names the flag and the value given", async () => {
    const project = await projectWithWorker();
    const [tooBig, badEnum, notNumber] = await Promise.all([
      project.run([...RUN, '--batch-size', '1000']),
      project.run([...RUN, '--mode', 'reckless']),
      project.run([...RUN, '--batch-size', 'ten']),
    ]);
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toContain('--batch-size "1000": expected a whole number from 1 to 100');
    expect(badEnum.code).toBe(2);
    expect(badEnum.stderr).toContain('--mode "reckless": expected one of "fast", "safe"');
    expect(notNumber.code).toBe(2);
    expect(notNumber.stderr).toContain('--batch-size "ten": expected a whole number from 1 to 100');
  });

  it("a bad runner setting names the runner's flag; an unknown flag; a stray argument", async () => {
    const project = await projectWithWorker();
    const [badSetting, unknownFlag, stray, brokerFlag] = await Promise.all([
      project.run([...RUN, '--max-attempts', '-1']),
      project.run([...RUN, '--max-atempts', '3']),
      // `--max-attempts 3 5`: the 5 would otherwise be dropped without a word.
      project.run([...RUN, '--max-attempts', '3', '5']),
      // A flag of `nsqworker broker`, not one a few letters from a runner flag (--dedup-queue-size).
      project.run([...RUN, '--mem-queue-size', '10']),
    ]);
    expect(badSetting.code).toBe(2);
    expect(badSetting.stderr).toMatch(/--max-attempts/);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain('unknown flag --max-atempts');
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('"5"');
    expect(brokerFlag.code).toBe(2);
    expect(brokerFlag.stderr).toContain('--mem-queue-size is a flag of nsqworker broker');
    expect(brokerFlag.stderr).not.toContain('did you mean');
  });

  it('an unknown worker lists the workers found', async () => {
    const project = await projectWithWorker();
    const { code, stderr } = await project.run(['--topic', 'log', '--channel', 'clicks', ...RUN.slice(4)]);
    expect(code).toBe(2);
    expect(stderr).toContain('no worker for topic log channel clicks');
    expect(stderr).toContain('workers/log/log_clicks_worker.ts');
    expect(stderr).toContain('--topic log --channel audit, --topic log --channel pageview');
    // Asked for help, it still shows the runner's flags, then says why the worker's are not there.
    const help = await project.run(['--topic', 'log', '--channel', 'clicks', '--help']);
    expect(help.code).toBe(2);
    expect(help.stdout).toContain('--max-in-flight');
    expect(help.stderr).toContain('no worker for topic log channel clicks');
  });

  /** Runs each `[topic, channel]` at once; each exits 2 with the one line given. */
  async function expectNoWorker(project: CliProject, cases: Array<[topic: string, channel: string, line: string]>): Promise<void> {
    const results = await Promise.all(cases.map(([topic, channel]) => project.run(['--topic', topic, '--channel', channel, ...RUN.slice(4)])));
    for (const [index, [, , line]] of cases.entries()) {
      expect(results[index]!.code, results[index]!.stderr).toBe(2);
      expect(results[index]!.stderr.trim()).toBe(`nsqworker: ${line}`);
    }
  }

  it('a topic or channel a typo away from one worker, or the start of its name, names that worker; near several, or one letter, the list', async () => {
    const project = await projectWithWorker();
    await expectNoWorker(project, [
      ['log', 'pagevew', 'no worker for topic log channel pagevew: did you mean --channel pageview? (or create workers/log/log_pagevew_worker.ts)'],
      ['logs', 'pageview', 'no worker for topic logs channel pageview: did you mean --topic log? (or create workers/logs/logs_pageview_worker.ts)'],
      // The start of one worker's channel, too far for a typo.
      ['log', 'page', 'no worker for topic log channel page: did you mean --channel pageview? (or create workers/log/log_page_worker.ts)'],
    ]);
    await project.write('workers/log/log_audit1_worker.ts', OPTIONS_WORKER);
    // audit2: as near audit as audit1; p: one letter.
    const runs = await Promise.all(['audit2', 'p'].map((channel) => project.run(['--topic', 'log', '--channel', channel, ...RUN.slice(4)])));
    for (const run of runs) {
      expect(run.code).toBe(2);
      expect(run.stderr).not.toContain('did you mean');
      expect(run.stderr).toContain('workers found: --topic log --channel audit1, --topic log --channel audit, --topic log --channel pageview');
    }
  });

  it('a file named almost as the worker should be is pointed at; the other workers of the topic are not', async () => {
    const project = await projectWithWorker();
    await project.write('workers/log/log_clicks_workers.ts', OPTIONS_WORKER);
    await project.write('workers/log/log_views.ts', OPTIONS_WORKER);
    await project.write('workers/log/signups_worker.ts', OPTIONS_WORKER);
    await expectNoWorker(project, [
      ['log', 'clicks', 'no worker for topic log channel clicks: workers/log/log_clicks_workers.ts is named almost so: rename it to workers/log/log_clicks_worker.ts'],
      ['log', 'views', 'no worker for topic log channel views: workers/log/log_views.ts is named almost so: rename it to workers/log/log_views_worker.ts'],
      // The folder names the topic: a file named for the channel alone is that worker's.
      ['log', 'signups', 'no worker for topic log channel signups: workers/log/signups_worker.ts is named almost so: rename it to workers/log/log_signups_worker.ts'],
    ]);
    const none = await project.run(['--topic', 'log', '--channel', 'visits', ...RUN.slice(4)]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no worker for topic log channel visits: create workers/log/log_visits_worker.ts; workers found:');
    // Not offered as the fix for another channel; listed with the files misnamed (a worker's by its end, _workers).
    expect(none.stderr).not.toContain('is named almost so');
    expect(none.stderr).toContain("not workers by their names: workers/log/log_clicks_workers.ts (its name ends in _workers where a worker's ends in _worker (rename it to log_clicks_worker.ts))");
  });

  it('a worker file put in a folder named almost as the workers folder, beside it, is pointed at', async () => {
    const project = await projectWithWorker();
    await project.write('worker/payments/payments_refund_worker.ts', OPTIONS_WORKER);
    await project.write('src/workers/orders/orders_email_worker.ts', OPTIONS_WORKER);
    await expectNoWorker(project, [
      ['payments', 'refund', 'no worker for topic payments channel refund: worker/payments/payments_refund_worker.ts is outside workers/: move it to workers/payments/payments_refund_worker.ts'],
      ['orders', 'email', 'no worker for topic orders channel email: src/workers/orders/orders_email_worker.ts is outside workers/: move it to workers/orders/orders_email_worker.ts'],
    ]);
  });

  it('run outside the project (no workers/ folder here), the worker and list say where they looked and how to point elsewhere', async () => {
    const project = await projects.create();
    const [run, list, elsewhere] = await Promise.all([
      project.run(['--topic', 'log', '--channel', 'pageview', ...RUN.slice(4)]),
      project.run(['list']),
      project.run(['--topic', 'log', '--channel', 'pageview', '--workers-dir', project.path('nope'), ...RUN.slice(4)]),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`no workers/ folder in ${project.path('.')}: run nsqworker in your project's folder, or name the folder with --workers-dir`);
    expect(list.stderr.trim()).toBe(`nsqworker: no workers/ folder in ${project.path('.')}: run nsqworker in your project's folder, or name the folder with --workers-dir`);
    expect(list.code).toBe(2);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain(`no folder ${project.path('nope')}/: name the folder of your workers with --workers-dir`);
  });

  it('with the workers in a folder a typo from workers/, or in src/workers/, names that folder', async () => {
    const [singular, underSrc] = await Promise.all([projects.create(), projects.create()]);
    await singular.write('worker/log/log_pageview_worker.ts', 'export default {};\n');
    await underSrc.write('src/workers/log/log_pageview_worker.ts', 'export default {};\n');
    const [run, list] = await Promise.all([singular.run(['--topic', 'log', '--channel', 'pageview', ...RUN.slice(4)]), underSrc.run(['list'])]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(`nsqworker: no worker for topic log channel pageview: no workers/ folder in ${singular.path('.')}, but worker/ holds worker files: rename it workers/, or give --workers-dir worker`);
    expect(list.code).toBe(2);
    expect(list.stderr.trim()).toBe(`nsqworker: no workers/ folder in ${underSrc.path('.')}, but src/workers/ holds worker files: rename it workers/, or give --workers-dir src/workers`);
  });

  it('run in a subfolder of the project names the project, not past a package.json; --workers-dir a typo from workers/ names the flag alone', async () => {
    const outer = await projectWithWorker();
    await outer.write('src/jobs/notes.txt', '');
    // A project of its own inside (a service of a monorepo): the workers above are another's.
    const inner = await projects.create({ parent: outer.path('src') });
    const [below, devBelow, own, typo] = await Promise.all([
      outer.run(['--topic', 'log', '--channel', 'pageview', ...RUN.slice(4)], {}, 15_000, outer.path('src/jobs')),
      outer.run(['dev', ...RUN.slice(4), '--console-address', 'off'], {}, 15_000, outer.path('src/jobs')),
      inner.run(['--topic', 'log', '--channel', 'pageview', ...RUN.slice(4)]),
      outer.run(['--topic', 'log', '--channel', 'pageview', '--workers-dir', 'worker', ...RUN.slice(4)]),
    ]);
    expect(below.code).toBe(2);
    expect(below.stderr.trim()).toBe(
      `nsqworker: no worker for topic log channel pageview: no workers/ folder in ${outer.path('src/jobs')}, but ${outer.path('.')} has one with worker files: run nsqworker there (cd ${outer.path('.')}), where its config file and broker data are`,
    );
    // dev too, before anything starts: it would wait on a folder that will not fill, its broker data there.
    expect(devBelow.code, devBelow.stderr).toBe(2);
    expect(devBelow.stderr.trim()).toBe(
      `nsqworker: no workers/ folder in ${outer.path('src/jobs')}, but ${outer.path('.')} has one with worker files: run nsqworker dev there (cd ${outer.path('.')}), where its config file and broker data are`,
    );
    expect(await readdir(outer.path('src/jobs'))).toEqual(['notes.txt']);
    expect(own.code).toBe(2);
    expect(own.stderr).toContain(`create workers/log/log_pageview_worker.ts; no workers/ folder in ${inner.path('.')}: run nsqworker in your project's folder`);
    // Renaming workers/ to worker/ would be no help: the flag is what to change.
    expect(typo.code).toBe(2);
    expect(typo.stderr.trim()).toBe(`nsqworker: no worker for topic log channel pageview: no worker/ folder in ${outer.path('.')}, but workers/ holds worker files: give --workers-dir workers`);
  });

  it('the broker flags on one port: a usage error before anything listens, not "in use by another program"', async () => {
    const project = await projectWithWorker();
    const { code, stderr } = await project.run(['--topic', 'log', '--channel', 'pageview', '--broker-tcp-address', '127.0.0.1:4570', '--broker-http-address', '0.0.0.0:4570', '--data-path', 'data']);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('nsqworker: --broker-tcp-address 127.0.0.1:4570 and --broker-http-address 0.0.0.0:4570 share port 4570: give each its own port');
  });

  it('a command written after --workers-dir or --config is that command, as git reads git -C dir status', async () => {
    const project = await projectWithWorker();
    const dir = project.path('workers');
    const [spaced, joined, asTopic] = await Promise.all([
      project.run(['--workers-dir', dir, 'list']),
      project.run([`--workers-dir=${dir}`, '--config', project.path('none.config.ts'), 'list']),
      // After any other flag the word is that flag's value: a topic named list.
      project.run(['--topic', 'list', '--channel', 'pageview', ...RUN.slice(4)]),
    ]);
    expect([spaced.stderr, spaced.code, joined.code, asTopic.code]).toEqual(['', 0, 2, 2]);
    expect(spaced.stdout).toContain('log/pageview');
    // The listing read the config file named, as `list --config` would.
    expect(joined.stderr).toContain('none.config.ts');
    expect(asTopic.stderr).toContain('no worker for topic list channel pageview');
  });

  it("after --workers-dir, help is the command's, a mistyped command is named, a repeated flag's last value counts; a stray word", async () => {
    const project = await projectWithWorker();
    const dir = project.path('workers');
    const [listHelp, helpList, typo, repeated, stray, words, noWorker, devHelp] = await Promise.all([
      project.run(['--workers-dir', dir, 'list', '--help']),
      project.run(['--workers-dir', dir, 'help', 'list']),
      project.run(['--workers-dir', dir, 'lst']),
      project.run(['--workers-dir', project.path('elsewhere'), '--workers-dir', dir, 'list']),
      project.run(['list', 'extra']),
      project.run(['log', 'pageview']),
      project.run(['run', 'nothing']),
      project.run(['help', 'dev']),
    ]);
    for (const help of [listHelp, helpList]) {
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('$ nsqworker list');
    }
    // dev's help lists the built-in defaults, and says that the environment and the config file come first.
    expect(devHelp.code).toBe(0);
    expect(devHelp.stdout).toContain("--workers-dir, --log-level, --data-path and --broker-*, when not given, take their NSQWORKER_* variable's value, then the config file's, then the default below.");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown command "lst"; did you mean list?');
    const version = await project.run(['version']);
    expect(version.code).toBe(2);
    expect(version.stderr).toContain('unknown command "version"; the version is nsqworker --version (commands: ');
    expect([repeated.stderr, repeated.code]).toEqual(['', 0]);
    expect(repeated.stdout).toContain('log/pageview');
    // A stray word, said as a run says it (not cac's "Unused args").
    expect([stray.stderr, stray.code]).toEqual(['nsqworker: unexpected argument "extra": the command takes flags only (its --help lists them)\n', 2]);
    // A topic and a channel as words: the run they meant.
    expect(words.code).toBe(2);
    expect(words.stderr).toContain('unknown command "log"; to run a worker: nsqworker --topic log --channel pageview (commands: ');
    // Words that name no worker are not offered as one.
    expect(noWorker.stderr).not.toContain('to run a worker');
  });

  it('a reader that stops early (nsqworker list | head -1) ends the listing quietly, exit 0', async () => {
    const project = await projectWithWorker();
    const run = project.spawn(['list']);
    // The read end is closed before the child's first write: that write fails with EPIPE.
    run.child.stdout!.destroy();
    const { code } = await run.waitForExit();
    expect(run.stderr).toBe('');
    expect(code).toBe(0);
  });

  it('a missing --topic', async () => {
    const project = await projectWithWorker();
    const { code, stderr } = await project.run(['--channel', 'pageview', ...RUN.slice(4)]);
    expect(code).toBe(2);
    expect(stderr).toContain('nsqworker: --topic is missing: --topic and --channel are required');
    expect(stderr).toContain('--topic log --channel pageview');
    // The channel given by a misspelt variable: the variable is named first.
    const misspelt = await project.run(['--topic', 'log', ...RUN.slice(4)], { NSQWORKER_CHANEL: 'pageview' });
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toContain(
      'nsqworker: --channel is missing: --topic and --channel are required to run a worker; NSQWORKER_CHANEL is set but not read; did you mean NSQWORKER_CHANNEL?; workers found:',
    );
  });
});

describe('option values reach the task', () => {
  it('as given: numbers, durations, enums, booleans and strings that look like numbers', async () => {
    const project = await projectWithWorker();
    const seen = await optionsSeen(project, [
      '--slow-threshold',
      '2s',
      '--batch-size=25',
      '--mode',
      'fast',
      // A string option keeps its text, even when it reads as a number.
      '--label',
      '007',
      '--dry-run',
      '--offset',
      '-5',
      // A list's words converted to its element kind; its objects as JSON, never split at JSON's commas.
      '--skip-ids',
      '3,4',
      '--skip-ids',
      '5',
      '--routes',
      '[{"path":"/a","weight":1},{"path":"/b","weight":2}]',
      '--routes',
      '{"path":"/c","weight":3}',
    ]);
    expect(seen).toEqual({
      slowThresholdMs: 2000,
      batchSize: 25,
      mode: 'fast',
      label: '007',
      dryRun: true,
      offset: -5,
      skipIds: [3, 4, 5],
      routes: [
        { path: '/a', weight: 1 },
        { path: '/b', weight: 2 },
        { path: '/c', weight: 3 },
      ],
    });
  });

  it('schema defaults when nothing is given', async () => {
    const project = await projectWithWorker();
    const seen = await optionsSeen(project, []);
    expect(seen).toEqual({ slowThresholdMs: 500, batchSize: 10, mode: 'safe', label: 'main', dryRun: false, offset: 0, skipIds: [], routes: [] });
  });
});
