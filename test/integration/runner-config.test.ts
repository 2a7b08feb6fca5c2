/**
 * Where the runner's settings and a worker's options come from, declared once: schema defaults <
 * nsqworker.config.ts < NSQWORKER_* environment < command line. One run sets each value at a
 * different depth and reads back what won, from what the task saw and what the broker reports.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerStats, CliProjects, collect, eventually, publish, type CliProject } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

/** Its task records its options; 'reject' fails validate; 'fail' fails the task. */
const WORKER = `
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineWorker } from 'nsqworker';

export default defineWorker({
  options: z.object({
    fromDefault: z.string().default('default'),
    fromConfig: z.string().default('default'),
    fromEnv: z.string().default('default'),
    fromFlag: z.string().default('default'),
    timeoutMs: z.number().int().default(100).describe('a duration: config in ms, env and flag as Go durations'),
  }),
  validate(message) {
    return message.text() !== 'reject';
  },
  tasks: {
    async record(message, context) {
      if (message.text() === 'fail') throw new Error('told to fail');
      await appendFile('options.jsonl', JSON.stringify(context.options) + '\\n');
    },
  },
});
`;

const CONFIG = `
export default {
  topicPrefix: 'cfg_',
  maxInFlight: 3,
  maxAttempts: 2,
  deadLetterTopic: 'dl_config',
  workers: {
    'jobs/run': { fromConfig: 'config', fromEnv: 'config', fromFlag: 'config', timeoutMs: 250 },
  },
};
`;

async function project(config = CONFIG, file = 'nsqworker.config.ts'): Promise<CliProject> {
  const p = await projects.create();
  await p.writeWorker('jobs', 'run', WORKER);
  await p.write(file, config);
  return p;
}

describe('config precedence: schema default < nsqworker.config.ts < NSQWORKER_* < flag', () => {
  it("holds for a worker's options and for the runner's settings", async () => {
    const p = await project();
    const run = p.startWorker('jobs', 'run', ['--from-flag', 'flag', '--max-in-flight', '5'], {
      NSQWORKER_FROM_ENV: 'env',
      NSQWORKER_FROM_FLAG: 'env',
      NSQWORKER_TIMEOUT: '3s',
      NSQWORKER_MAX_IN_FLIGHT: '4',
      NSQWORKER_DEAD_LETTER_TOPIC: 'dl_env',
      // A typo of the worker's option, named at the start; another worker's variable, not.
      NSQWORKER_FROM_ENVV: 'typo',
      NSQWORKER_BILLING_API_KEY: 'another worker',
    });
    const { tcpAddress, httpAddress } = await run.brokerAddresses();
    // topicPrefix: only in the config file, so it beats the schema's ''.
    const running = await run.waitForMessage('worker jobs/run running');
    expect(running.topic).toBe('cfg_jobs');
    const unread = run.lines.filter((line) => line.level === 40 && String(line.msg).includes('is set but not read')).map((line) => line.msg);
    expect(unread).toEqual(['NSQWORKER_FROM_ENVV is set but not read; did you mean NSQWORKER_FROM_ENV?']);
    await run.subscribed(['record']);

    await publish(httpAddress, 'cfg_jobs', 'ok');
    const [seen] = await eventually(async () => {
      const records = await p.records('options.jsonl');
      return records.length > 0 ? records : undefined;
    }, 'the task to record its options');
    expect(seen).toEqual({ fromDefault: 'default', fromConfig: 'config', fromEnv: 'env', fromFlag: 'flag', timeoutMs: 3000 });

    // maxInFlight: config 3 < env 4 < flag 5, as the broker sees it (RDY of the task's connection).
    const stats = await brokerStats(httpAddress);
    const channel = stats.topics.find((t) => t.topic_name === 'cfg_jobs')?.channels.find((c) => c.channel_name === 'run');
    expect(channel?.clients.map((client) => client.ready_count)).toEqual([5]);

    // deadLetterTopic: config 'dl_config' < env 'dl_env' (with the config's prefix); maxAttempts 2 from the config.
    const deadLetters = collect(projects, tcpAddress, 'cfg_dl_env');
    await publish(httpAddress, 'cfg_jobs', 'reject');
    await publish(httpAddress, 'cfg_jobs', 'fail');
    await eventually(() => (deadLetters.messages.length >= 2 ? true : undefined), 'two dead letters on cfg_dl_env');
    const envelopes = deadLetters.messages.map((message) => message.json<{ body: string; attempts: number; error: string }>());
    const failed = envelopes.find((envelope) => envelope.body === 'fail');
    expect(failed).toMatchObject({ attempts: 2, error: 'told to fail' });
    expect(envelopes.find((envelope) => envelope.body === 'reject')).toMatchObject({ attempts: 1, error: 'validate returned false' });
    expect(stats.topics.map((t) => t.topic_name)).not.toContain('cfg_dl_config');
  });
});

describe('config file errors exit with status 2', () => {
  const RUN = ['--topic', 'jobs', '--channel', 'run', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', 'data'];

  it('an unknown runner key names the key meant', async () => {
    const cases: Array<[string, string]> = [
      ['{ maxAtempts: 3 }', 'nsqworker.config.ts: unknown key maxAtempts; did you mean maxAttempts?'],
      ['{ max_in_flight: 3 }', 'nsqworker.config.ts: unknown key max_in_flight; did you mean maxInFlight?'],
      ['{ colour: 3 }', "nsqworker.config.ts: unknown key colour (the keys are the runner's settings that nsqworker --help lists, camelCased, and workers: a worker's own option goes in workers['<topic>/<channel>'].colour)"],
      // A setting of `nsqworker broker` (nsqd's --mem-queue-size), not one a few letters from a runner
      // key (dedupQueueSize); the file's other problems are told beside it.
      [
        "{ maxInFlight: 'lots', maxAtempts: 3, mem_queue_size: 100 }",
        'nsqworker.config.ts: maxInFlight "lots": expected a whole number of at least 1; unknown key maxAtempts; did you mean maxAttempts?; ' +
          "mem_queue_size is a setting of nsqworker broker (--mem-queue-size): the broker a worker embeds takes nsqd's defaults; run nsqworker broker --mem-queue-size … and point the worker at it with nsqdTcpAddresses",
      ],
      // Broker flags that, in a worker's config, mean a runner setting: that setting.
      ["{ tcpAddress: '127.0.0.1:4150' }", 'nsqworker.config.ts: unknown key tcpAddress; did you mean brokerTcpAddress?'],
      ["{ lookupdTcpAddresses: ['127.0.0.1:4160'] }", 'nsqworker.config.ts: unknown key lookupdTcpAddresses; did you mean lookupdHttpAddresses?'],
    ];
    const results = await Promise.all(cases.map(async ([config]) => (await project(`export default ${config};\n`)).run(RUN)));
    for (const [index, [, expected]] of cases.entries()) {
      expect(results[index]!.code, results[index]!.stderr).toBe(2);
      expect(results[index]!.stderr.trim()).toBe(`nsqworker: ${expected}`);
    }
  });

  it("a runner setting's bad value is one line: the file, the key path, the value and what would be good, as a flag's is", async () => {
    const cases: Array<[string, string]> = [
      ["{ maxInFlight: 'ten' }", 'maxInFlight "ten": expected a whole number of at least 1'],
      ['{ maxInFlight: 1.5 }', 'maxInFlight 1.5: expected a whole number of at least 1'],
      ["{ watch: 'yes' }", 'watch "yes": expected true or false'],
      ["{ logLevel: 'verbose' }", 'logLevel "verbose": expected one of "trace", "debug", "info", "warn", "error", "fatal", "silent"'],
      ["{ lookupdPollIntervalMs: '5ms' }", 'lookupdPollIntervalMs "5ms": expected a duration of at least 10ms (250ms, 60s, 1h30m, or a number of milliseconds)'],
      // A string is written as on the command line, unit and all; a number is milliseconds, as the key says.
      ["{ requeueDelayMs: '90' }", `requeueDelayMs "90": expected a duration with its unit, such as '90s' or '90ms', or the number 90 for milliseconds`],
      ["{ nsqdTcpAddresses: '127.0.0.1:4150' }", 'nsqdTcpAddresses "127.0.0.1:4150": expected an array of strings'],
      ["{ nsqdTcpAddresses: ['127.0.0.1:4150', 'localhost'] }", 'nsqdTcpAddresses[1] "localhost": expected host:port (e.g. 127.0.0.1:4150)'],
      ["{ workers: { jobs: {} } }", "workers['jobs']: expected a key '<topic>/<channel>' (e.g. 'log/pageview')"],
      ["{ workers: { 'jobs/run': 3 } }", "workers['jobs/run'] 3: expected an object of the worker's option values"],
    ];
    const results = await Promise.all(cases.map(async ([config]) => (await project(`export default ${config};\n`)).run(RUN)));
    for (const [index, [config, expected]] of cases.entries()) {
      const { code, stderr } = results[index]!;
      expect(code, `${config}: ${stderr}`).toBe(2);
      expect(stderr.trim(), config).toBe(`nsqworker: nsqworker.config.ts: ${expected}`);
    }
    // The same words for the same mistake on the command line.
    const flag = await (await project(`export default {};\n`)).run([...RUN, '--max-in-flight', 'ten']);
    expect(flag.code).toBe(2);
    expect(flag.stderr.trim()).toBe('nsqworker: --max-in-flight "ten": expected a whole number of at least 1');
  });

  it('a config file that does not load is one line: file:line:column and the reason, as for a worker file', async () => {
    const broken = await project(`export default {\n  maxInFlight: 3\n  oops\n};\n`);
    const syntax = await broken.run(RUN);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr.trim()).toBe(`nsqworker: ${broken.path('nsqworker.config.ts')}:3:3: failed to load: syntax error: Expected "}" but found "oops"`);
    const throwing = await project(`throw new Error('no config today');\nexport default {};\n`);
    const thrown = await throwing.run(RUN);
    expect(thrown.code).toBe(2);
    expect(thrown.stderr.trim()).toBe(`nsqworker: ${throwing.path('nsqworker.config.ts')}:1:7: failed to load: Error: no config today`);
  });

  it("an unknown key in a worker's options names the option meant (from a file named by --config); --help still lists the options", async () => {
    const p = await project(`export default { workers: { 'jobs/run': { fromConfg: 'typo' } } };\n`, 'staging.config.ts');
    const [{ code, stderr }, help] = await Promise.all([p.run([...RUN, '--config', 'staging.config.ts']), p.run([...RUN, '--config', 'staging.config.ts', '--help'])]);
    expect(help.stdout).toMatch(/--from-config <string>/);
    expect({ code: help.code, stderr: help.stderr.trim() }).toEqual({ code: 2, stderr: expect.stringContaining('unknown option fromConfg (its options are') });
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(/staging\.config\.ts: workers\['jobs\/run'\]: unknown option fromConfg \(its options are [a-zA-Z, ]*fromConfig[a-zA-Z, ]*\); did you mean fromConfig\?$/);
  });

  it("an unknown key and a bad value in a worker's section are named in one run, not one after the other", async () => {
    const p = await project(`export default { workers: { 'jobs/run': { fromConfg: 'typo', timeoutMs: 'soon' } } };\n`);
    const { code, stderr } = await p.run(RUN);
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(
      /^nsqworker: nsqworker\.config\.ts: workers\['jobs\/run'\]: unknown option fromConfg \(its options are [a-zA-Z, ]*\); did you mean fromConfig\?; nsqworker\.config\.ts: workers\['jobs\/run'\]\.timeoutMs "soon": expected a duration \(/,
    );
    // A value that does not convert (a duration) and one the schema refuses (a number for a string): one line too.
    const kinds = await project(`export default { workers: { 'jobs/run': { timeoutMs: 'soon', fromConfig: 5 } } };\n`);
    const twoKinds = await kinds.run(RUN);
    expect(twoKinds.code).toBe(2);
    expect(twoKinds.stderr.trim()).toMatch(
      /^nsqworker: nsqworker\.config\.ts: workers\['jobs\/run'\]\.timeoutMs "soon": expected a duration \(.*\); nsqworker\.config\.ts: workers\['jobs\/run'\]\.fromConfig 5: expected a string$/,
    );
    // list too: the unknown key, and a value its schema refuses beside it (fromConfig 5, not a string).
    const both = await project(`export default { workers: { 'jobs/run': { fromConfg: 'typo', fromConfig: 5 } } };\n`);
    const listed = await both.run(['list']);
    expect(listed.code).toBe(2);
    const invalid = listed.stdout.split('\n').filter((line) => line.includes('INVALID: '));
    expect(invalid).toEqual([
      expect.stringContaining("INVALID: nsqworker.config.ts: workers['jobs/run']: unknown option fromConfg ("),
      "    INVALID: nsqworker.config.ts: workers['jobs/run'].fromConfig 5: expected a string",
    ]);
  });

  it('a config of another extension is read by its conventional name; two such files, or one exporting no config, are errors', async () => {
    const [mjs, both, unexported, namedOnly] = await Promise.all([
      project(`export default { maxInFlight: 7 };\n`, 'nsqworker.config.mjs'),
      project(`export default { maxInFlight: 7 };\n`, 'nsqworker.config.js'),
      project(`import { defineConfig } from 'nsqworker';\nconst config = defineConfig({ maxInFlight: 7 });\n`),
      project(`import { defineConfig } from 'nsqworker';\nexport const config = defineConfig({ maxInFlight: 7 });\n`),
    ]);
    await both.write('nsqworker.config.ts', 'export default {};\n');
    const help = [...RUN, '--help'];
    const [read, twice, none, named] = await Promise.all([mjs.run(help), both.run(help), unexported.run(help), namedOnly.run(help)]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain('(7 from config nsqworker.config.mjs: maxInFlight; default: 1)');
    expect(twice.code).toBe(2);
    expect(twice.stderr.trim()).toBe(`nsqworker: config files nsqworker.config.ts and nsqworker.config.js both in ${both.path('.')}: keep one, or name the one to use with --config`);
    // defineConfig(...) called, not exported: its values would apply to nothing, without a word.
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toBe('nsqworker: nsqworker.config.ts: expected the config as its default export (export default defineConfig({ ... })); found no default export');
    expect(named.stderr.trim()).toBe('nsqworker: nsqworker.config.ts: expected the config as its default export (export default defineConfig({ ... })); found no default export; named exports: config');

    // In a CommonJS project, where a config exporting nothing and one exporting {} both read as {}:
    // an empty config exported is one, and so is a file that names defineConfig only in a comment.
    const commonJs = async (config: string, file = 'nsqworker.config.ts'): Promise<CliProject> => {
      const p = await project(config, file);
      await p.write('package.json', '{}\n');
      return p;
    };
    const [emptyTs, emptyCjs, commented, unexportedCjs] = await Promise.all([
      commonJs(`import { defineConfig } from 'nsqworker';\nexport default defineConfig({});\n`),
      commonJs(`const { defineConfig } = require('nsqworker');\nmodule.exports = defineConfig({});\n`, 'nsqworker.config.cjs'),
      commonJs(`// later: defineConfig({ maxInFlight: 7 })\nexport default {};\n`),
      commonJs(`const { defineConfig } = require('nsqworker');\ndefineConfig({ maxInFlight: 7 });\n`, 'nsqworker.config.cjs'),
    ]);
    for (const fine of await Promise.all([emptyTs.run(help), emptyCjs.run(help), commented.run(help)])) expect(fine.code, fine.stderr).toBe(0);
    const refused = await unexportedCjs.run(help);
    expect(refused.stderr.trim()).toBe('nsqworker: nsqworker.config.cjs: expected the config as its default export (module.exports = defineConfig({ ... })); found nothing exported');
  });

  it("a value of the wrong type for a worker's option", async () => {
    const [duration, bare, text] = await Promise.all([
      project(`export default { workers: { 'jobs/run': { timeoutMs: 'soon' } } };\n`).then((p) => p.run(RUN)),
      project(`export default { workers: { 'jobs/run': { timeoutMs: '5' } } };\n`).then((p) => p.run(RUN)),
      project(`export default { workers: { 'jobs/run': { fromConfig: 5 } } };\n`).then((p) => p.run(RUN)),
    ]);
    // The value came from the config file: the message names the file and the key, not a flag.
    expect(duration.code).toBe(2);
    expect(duration.stderr.trim()).toBe(
      `nsqworker: nsqworker.config.ts: workers['jobs/run'].timeoutMs "soon": expected a duration (250ms, 60s, 1h30m, or a number of milliseconds)`,
    );
    expect(bare.code).toBe(2);
    expect(bare.stderr.trim()).toBe(
      `nsqworker: nsqworker.config.ts: workers['jobs/run'].timeoutMs "5": expected a duration with its unit, such as '5s' or '5ms', or the number 5 for milliseconds`,
    );
    expect(text.code).toBe(2);
    expect(text.stderr.trim()).toBe(`nsqworker: nsqworker.config.ts: workers['jobs/run'].fromConfig 5: expected a string`);
  });

  it('a value that does not convert is said once, for an option with no default too', async () => {
    const p = await project(`export default {};\n`);
    await p.writeWorker('jobs', 'count', "import { defineWorker } from 'nsqworker';\nimport { z } from 'zod';\nexport default defineWorker({ options: z.object({ copies: z.number().int().min(1) }), tasks: { async x() {} } });\n");
    const args = ['--topic', 'jobs', '--channel', 'count', ...RUN.slice(4)];
    const [flag, env] = await Promise.all([p.run([...args, '--copies', 'abc']), p.run(args, { NSQWORKER_COPIES: 'abc' })]);
    expect([flag.code, flag.stderr.trim()]).toEqual([2, 'nsqworker: --copies "abc": expected a whole number of at least 1']);
    expect([env.code, env.stderr.trim()]).toEqual([2, 'nsqworker: NSQWORKER_COPIES "abc": expected a whole number of at least 1']);
  });
});

describe('topic names built from settings are checked before anything starts', () => {
  const FREE_PORTS = ['--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', 'data'];

  it('a --topic-prefix that makes an invalid topic', async () => {
    const p = await project(`export default {};\n`);
    const { code, stderr } = await p.run(['--topic', 'jobs', '--channel', 'run', ...FREE_PORTS, '--topic-prefix', 'staging/']);
    expect(code).toBe(2);
    expect(stderr).toContain('--topic-prefix "staging/" makes the topic "staging/jobs"');
    // The broker never started, so it persisted no topic it would refuse from anyone else.
    expect(existsSync(p.path('data'))).toBe(false);
  });

  it('a dead-letter topic that is not a topic name, or too long with the topic in it', async () => {
    const p = await project(`export default { deadLetterTopic: 'dead letters' };\n`);
    const long = 'a'.repeat(56);
    await p.writeWorker(long, 'store', WORKER);
    const [spaces, tooLong] = await Promise.all([
      p.run(['--topic', 'jobs', '--channel', 'run', ...FREE_PORTS]),
      p.run(['--topic', long, '--channel', 'store', ...FREE_PORTS, '--dead-letter-topic', '{topic}.dead_letter']),
    ]);
    expect(spaces.code).toBe(2);
    expect(spaces.stderr).toContain('--dead-letter-topic "dead letters"');
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain(`dead-letter topic "${long}.dead_letter"`);
    // '' turns dead letters off, and the worker runs.
    const run = p.startWorker(long, 'store', ['--dead-letter-topic', '']);
    await run.waitForMessage(`worker ${long}/store running`);
  });
});

describe('the worker chosen through the environment', () => {
  it('NSQWORKER_TOPIC and NSQWORKER_CHANNEL, as --help lists them', async () => {
    const p = await project(`export default {};\n`);
    const run = p.spawn(['--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', 'data'], {
      NSQWORKER_TOPIC: 'jobs',
      NSQWORKER_CHANNEL: 'run',
    });
    const running = await run.waitForMessage('worker jobs/run running');
    expect(running.channels).toEqual({ record: 'run' });
  });
});
