/**
 * Configuration you can see: `--help` and `list` show each value in effect and where it came from;
 * a bad value in nsqworker.config.ts names the file and key (at start and on reload); a `workers`
 * key that matches no worker is an error listing the known ones; durations take the same forms in
 * the config file as in flags and the environment; under --watch, a changed runner setting applies
 * at once (maxInFlight) or is named as taking effect at the next start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { brokerStats, CliProjects, eventually, type CliProject } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

const WORKER = `
import { z } from 'zod';
import { defineWorker } from 'nsqworker';
export default defineWorker({
  options: z.object({
    slowThresholdMs: z.number().int().min(0).default(500).describe('page views slower than this are stored'),
    label: z.string().default('main').describe('a label'),
    currency: z.enum(['EUR', 'USD']).default('EUR').describe('currency to bill in'),
    dryRun: z.boolean().default(false).describe('log instead of storing'),
    limits: z.object({ max: z.number() }).default({ max: 5 }).describe('limits'),
  }),
  tasks: { async count() {}, async store() {} },
});
`;

const CONFIG = `
import { defineConfig } from 'nsqworker';
export default defineConfig({
  maxInFlight: 10,
  requeueDelayMs: '2s',
  workers: { 'log/pageview': { slowThresholdMs: '300ms' } },
});
`;

async function project(config = CONFIG): Promise<CliProject> {
  const p = await projects.create();
  await p.writeWorker('log', 'pageview', WORKER);
  await p.write('nsqworker.config.ts', config);
  return p;
}

const RUN = ['--topic', 'log', '--channel', 'pageview'];
const FREE = ['--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', 'data'];

describe('--help and list show the value in effect and its source', () => {
  it('default, config, env and flag', async () => {
    const p = await project();
    // Two variables set under misspelt names (a runner setting's, a worker option's): said on stderr, as a run's start warns.
    const misspelt = { NSQWORKER_MAX_INFLIGHT: '3', NSQWORKER_SLOW_THRESHOLD_MS: '100' };
    const warnings = [
      'nsqworker: NSQWORKER_MAX_INFLIGHT is set but not read; did you mean NSQWORKER_MAX_IN_FLIGHT?',
      "nsqworker: NSQWORKER_SLOW_THRESHOLD_MS is set but not read; did you mean NSQWORKER_SLOW_THRESHOLD? (a duration's variable has no _MS; it takes a duration such as 2s or 500ms)",
    ];
    const help = await p.run([...RUN, '--help', '--max-attempts', '7', '--label', 'flagged', '--limits', '{"max":7}'], { NSQWORKER_SHUTDOWN_TIMEOUT: '5s', NSQWORKER_AUTH_SECRET: 's3cr3t', ...misspelt });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stderr.trim().split('\n')).toEqual(warnings);
    const line = (flag: string): string => help.stdout.split('\n').find((text) => text.startsWith(`  --${flag} `)) ?? '';
    expect(line('max-in-flight')).toContain('(10 from config nsqworker.config.ts: maxInFlight; default: 1)');
    expect(line('requeue-delay')).toContain('(2s from config nsqworker.config.ts: requeueDelayMs; default: 1m30s)');
    expect(line('shutdown-timeout')).toContain('(5s from env NSQWORKER_SHUTDOWN_TIMEOUT; default: 30s)');
    expect(line('max-attempts')).toContain('(7 from flag --max-attempts; default: 5)');
    expect(line('dedup-queue-size')).toContain('(default: 10000)');
    expect(line('slow-threshold')).toContain("(300ms from config nsqworker.config.ts: workers['log/pageview'].slowThresholdMs; default: 500ms)");
    expect(line('label')).toContain('("flagged" from flag --label; default: "main")');
    expect(line('limits')).toContain('({"max":7} from flag --limits; default: {"max":5})');
    // Output pasted into issues: where a secret came from, never the secret.
    expect(line('auth-secret')).toContain('(*** from env NSQWORKER_AUTH_SECRET; default: "")');
    expect(help.stdout).not.toContain('s3cr3t');

    const listed = await p.run(['list'], { NSQWORKER_LABEL: 'env', ...misspelt });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr.trim().split('\n')).toEqual(warnings);
    expect(listed.stdout).toContain("--slow-threshold <duration> (300ms from config nsqworker.config.ts: workers['log/pageview'].slowThresholdMs; default: 500ms)");
    expect(listed.stdout).toContain('--label <string> ("env" from env NSQWORKER_LABEL; default: "main")');
    // Flags as --help shows them: an enum's values, a boolean bare.
    expect(line('currency')).toContain('--currency <EUR|USD> ');
    expect(listed.stdout).toContain('    --currency <EUR|USD> (default: "EUR")  currency to bill in\n');
    expect(line('dry-run')).toMatch(/^  --dry-run {2,}/);
    expect(listed.stdout).toContain('    --dry-run (default: false)  log instead of storing');
    // An object option: JSON on the command line and in the environment.
    expect(listed.stdout).toContain('    --limits <json> (default: {"max":5})  limits');
  });
});

describe('a bad value in nsqworker.config.ts names the config file and key', () => {
  it('at start, for a runner setting and for a worker option (and an object option given as a flag: JSON)', async () => {
    const runner = await project(`export default { maxInFlight: 0 };\n`);
    const worker = await project(`export default { workers: { 'log/pageview': { slowThresholdMs: -5 } } };\n`);
    const good = await project();
    const [a, b, json, inside, misspelt] = await Promise.all([
      runner.run([...RUN, ...FREE]),
      worker.run([...RUN, ...FREE]),
      good.run([...RUN, ...FREE, '--limits', '{max: 2}']),
      good.run([...RUN, ...FREE, '--data-path', 'data2'], { NSQWORKER_LIMITS: '{"max":"7"}' }),
      good.run([...RUN, ...FREE, '--data-path', 'data3', '--limits', '{"mx":3}']),
    ]);
    // A key the option's object would drop in silence: refused, with the key it was meant to be.
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr.trim()).toBe(
      'nsqworker: --limits "{\\"mx\\":3}": expected an object as JSON, such as {"max":5}: "mx" is not among its keys (max); did you mean max?',
    );
    expect(json.code).toBe(2);
    expect(json.stderr).toContain('--limits "{max: 2}": expected an object as JSON, such as {"max":5}');
    // JSON the schema refuses: the key inside it.
    expect(inside.code).toBe(2);
    expect(inside.stderr).toContain('NSQWORKER_LIMITS "{\\"max\\":\\"7\\"}": max: expected a number');
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('nsqworker.config.ts: maxInFlight 0: expected a whole number of at least 1');
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("nsqworker.config.ts: workers['log/pageview'].slowThresholdMs -5: expected a duration of at least 0ms");
    expect(b.stderr).not.toContain('log_pageview_worker.ts');
  });

  it('on reload, the failure points at the config file, not the worker file', async () => {
    const p = await project();
    const run = p.startWorker('log', 'pageview', ['--watch']);
    await run.waitForMessage('worker log/pageview running');
    await p.write('nsqworker.config.ts', `export default {\n  workers: {\n    'log/pageview': { slowThresholdMs: -5 },\n  },\n};\n`);
    const failed = await run.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('reload failed'), 'reload failure');
    expect(String(failed.file)).toBe(p.path('nsqworker.config.ts'));
    expect(failed.line).toBe(3);
    // The file is named once, with its line.
    expect(String(failed.msg)).toContain(`reload failed: ${p.path('nsqworker.config.ts')}:3: workers['log/pageview'].slowThresholdMs -5: `);
    expect(String(failed.msg)).not.toContain('log_pageview_worker.ts');

    // A workers key saved misspelt is refused as at start, not taken for a worker with no values.
    await p.write('nsqworker.config.ts', `export default { workers: { 'log/pageviews': { slowThresholdMs: 5 } } };\n`);
    const misspelt = await run.waitForLine((line) => String(line.msg).startsWith('reload failed') && line !== failed, 'the refused key');
    expect(misspelt.file).toBe(p.path('nsqworker.config.ts'));
    expect(String(misspelt.msg)).toContain("workers['log/pageviews'] matches no worker; did you mean log/pageview? (known workers: log/pageview)");

    // An option of the worker's misspelt: the line of that key.
    await p.write('nsqworker.config.ts', `export default {\n  workers: {\n    'log/pageview': {\n      slowThresholdMs: 5,\n      slowTreshold: 5,\n    },\n  },\n};\n`);
    const unknown = await run.waitForLine((line) => String(line.msg).includes('unknown option'), 'the unknown option');
    expect({ file: unknown.file, line: unknown.line }).toEqual({ file: p.path('nsqworker.config.ts'), line: 5 });
    expect(String(unknown.msg)).toContain("workers['log/pageview']: unknown option slowTreshold (its options are ");
  });
});

describe('a worker saved with a schema that refuses the value in nsqworker.config.ts', () => {
  it("fails its reload at the schema's line, saying where the value was given: either may be what to change", async () => {
    const p = await project();
    const run = p.startWorker('log', 'pageview', ['--watch']);
    await run.waitForMessage('worker log/pageview running');
    await p.writeWorker('log', 'pageview', WORKER.replace('.min(0)', '.min(0).max(100)'));
    const failed = await run.waitForLine((line) => String(line.msg).startsWith('reload failed'), 'the narrowed schema refused');
    const lineOf = (text: string, key: string): number => text.split('\n').findIndex((line) => line.includes(key)) + 1;
    expect(String(failed.msg)).toBe(
      `reload failed: ${p.path('workers/log/log_pageview_worker.ts')}:${lineOf(WORKER, 'slowThresholdMs')}: ` +
        `workers['log/pageview'].slowThresholdMs "300ms": expected a duration from 0ms to 100ms (250ms, 60s, 1h30m, or a number of milliseconds), ` +
        `the value given in ${p.path('nsqworker.config.ts')}:${lineOf(CONFIG, 'slowThresholdMs')}; the running code stays in place until the next good save`,
    );
  });
});

describe('a required option given nowhere', () => {
  it('is said to be required, with a variable set under a misspelt name; a worker option before --channel waits for it', async () => {
    const p = await project();
    await p.writeWorker('log', 'audit', WORKER.replace(".default('main')", ''));
    const [misspelt, noChannel] = await Promise.all([
      p.run(['--topic', 'log', '--channel', 'audit', ...FREE], { NSQWORKER_LABLE: 'x' }),
      p.run(['--topic', 'log', '--label', 'x', '--tag=y', '--label', 'z', ...FREE]),
    ]);
    expect(misspelt.code, misspelt.stderr).toBe(2);
    expect(misspelt.stderr.trim()).toBe(
      'nsqworker: invalid options of worker log/audit: --label (NSQWORKER_LABEL) is required and not given (expected a string); NSQWORKER_LABLE is set but not read; did you mean NSQWORKER_LABEL?',
    );
    expect(noChannel.code, noChannel.stderr).toBe(2);
    // Each named once; one a typo away from a runner flag is said to be possibly that.
    expect(noChannel.stderr).toContain('nsqworker: --channel is missing: --topic and --channel are required to run a worker (--label, --tag are no runner flags: worker options, read once they name the worker; or --tag a typo of --tls); ');
  });
});

describe('list and a value the worker schema refuses', () => {
  it('marks it INVALID where it was given and exits 2, as the run would; a required option not given yet is no problem', async () => {
    const p = await project(`export default { workers: { 'log/pageview': { slowThresholdMs: -5 } } };\n`);
    await p.writeWorker('log', 'audit', WORKER.replace(".default('main').describe('a label')", ''));
    const [listed, run] = await Promise.all([p.run(['list']), p.run([...RUN, ...FREE])]);
    expect(listed.code, listed.stderr).toBe(2);
    expect(listed.stdout).toContain("    INVALID: nsqworker.config.ts: workers['log/pageview'].slowThresholdMs -5: expected a duration of at least 0ms");
    expect(run.code).toBe(2);
    // The audit worker's label is required and not given: listed as such, not INVALID.
    const audit = listed.stdout.slice(listed.stdout.indexOf('log/audit'), listed.stdout.indexOf('log/pageview'));
    expect(audit).toContain('--label <string> (required; not given)\n');
    expect(audit).not.toContain('INVALID');
    expect(listed.stdout.split('\n').filter((line) => /\s$/.test(line)), 'lines ending in spaces').toEqual([]);

    // A value that does not convert, from the environment: INVALID too, under the worker's one line.
    const unconverted = await p.run(['list'], { NSQWORKER_SLOW_THRESHOLD: 'abc' });
    expect(unconverted.code).toBe(2);
    expect(unconverted.stdout).toContain('    INVALID: NSQWORKER_SLOW_THRESHOLD "abc": expected a duration');
    expect(unconverted.stdout).not.toContain('FAILED TO LOAD');
    expect(unconverted.stdout.split('\n').filter((line) => line.startsWith('log/audit  tasks:'))).toHaveLength(1);
    // The options are still listed, without values: the one that does not convert leaves them unknown.
    const pageview = unconverted.stdout.slice(unconverted.stdout.indexOf('log/pageview'));
    expect(pageview).toContain('\n    --slow-threshold <duration>  page views slower than this are stored\n');
    expect(pageview).toContain('\n    --currency <EUR|USD>  currency to bill in\n');

    // A problem of the options together (a refine across them), with values given in the config.
    const refined = await project(`export default { workers: { 'log/pageview': { label: 'x' } } };\n`);
    await refined.writeWorker('log', 'pageview', WORKER.replace('  }),\n  tasks', "  }).refine((o) => o.label.length > 1, 'label too short'),\n  tasks"));
    const refusedTogether = await refined.run(['list']);
    expect(refusedTogether.code, refusedTogether.stdout).toBe(2);
    expect(refusedTogether.stdout).toContain('INVALID: ');
    expect(refusedTogether.stdout).toContain('label too short');

    const fine = await project();
    const ok = await fine.run(['list']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).not.toContain('INVALID');
  });
});

describe("a workers key that matches no worker", () => {
  it('is an error that lists the known workers, for a run, list and dev', async () => {
    const p = await project(`export default { workers: { 'log/pageviews': { slowThresholdMs: 1 } } };\n`);
    const [run, listed, dev, elsewhere] = await Promise.all([p.run([...RUN, ...FREE]), p.run(['list']), p.run(['dev', ...FREE]), p.run(['list', '--workers-dir', 'nope'])]);
    for (const result of [run, listed, dev]) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain("nsqworker.config.ts: workers['log/pageviews'] matches no worker; did you mean log/pageview? (known workers: log/pageview)");
    }
    // With no workers folder there, that is what is said, alone, not the config's keys.
    expect(elsewhere.code, elsewhere.stderr).toBe(2);
    expect(elsewhere.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^nsqworker: no nope/ folder in ${p.path('').replace(/\/$/, '')}\\b`, 'i'))]);
    expect(elsewhere.stdout).toBe('');
  });

  it("of no worker at all (one removed, its settings left) is a warning: the other workers start", async () => {
    const p = await project(`export default { workers: { 'log/pageview': { slowThresholdMs: 1 }, 'mail/send': { smtpHost: 'x' } } };\n`);
    const warning = "nsqworker.config.ts: workers['mail/send'] matches no worker (known workers: log/pageview): its values apply to nothing; remove the key if that worker is gone";
    const listed = await p.run(['list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr.trim()).toBe(`nsqworker: ${warning}`);
    const run = p.startWorker('log', 'pageview', FREE);
    await run.subscribed(['count', 'store']);
    expect(run.lines.find((line) => line.msg === warning)).toMatchObject({ level: 40 });
  });
});

describe("a workers key whose worker file is misplaced", () => {
  it('names the file and where it belongs, not the list: the key is right, the file is not', async () => {
    const p = await projects.create();
    await p.write('workers/log_pageview_worker.ts', WORKER);
    await p.write('nsqworker.config.ts', CONFIG);
    const [run, listed] = await Promise.all([p.run([...RUN, ...FREE]), p.run(['list'])]);
    for (const result of [run, listed]) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr.trim()).toBe(
        "nsqworker: nsqworker.config.ts: workers['log/pageview'] matches no worker: workers/log_pageview_worker.ts is not in its topic folder: move it to workers/log/log_pageview_worker.ts",
      );
    }
  });
});

describe('durations take the same forms in the config file, the environment and flags', () => {
  it('2s, 500ms and numbers of milliseconds', async () => {
    const p = await project(`export default { requeueDelayMs: '2s', shutdownTimeoutMs: 1500, maxBackoffDurationMs: '1m', workers: { 'log/pageview': { slowThresholdMs: '250ms' } } };\n`);
    const help = await p.run([...RUN, '--help'], { NSQWORKER_LABEL: 'x' });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('(2s from config nsqworker.config.ts: requeueDelayMs');
    expect(help.stdout).toContain('(1.5s from config nsqworker.config.ts: shutdownTimeoutMs');
    expect(help.stdout).toContain('(1m0s from config nsqworker.config.ts: maxBackoffDurationMs');
    expect(help.stdout).toContain("(250ms from config nsqworker.config.ts: workers['log/pageview'].slowThresholdMs");
    // And a run accepts them.
    const run = p.startWorker('log', 'pageview');
    await run.waitForMessage('worker log/pageview running');
    const bad = await project(`export default { requeueDelayMs: 'soon' };\n`);
    const refused = await bad.run([...RUN, ...FREE]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('nsqworker.config.ts: requeueDelayMs "soon": expected a duration of at least 0ms (250ms, 60s, 1h30m, or a number of milliseconds)');
  });
});

describe("the runner's settings in the config file, changed under --watch", () => {
  it('maxInFlight applies at once; another setting is named once as taking effect on restart; one a flag outranks is not named', async () => {
    const config = (settings: string, label: string): string =>
      `export default { ${settings}, workers: { 'log/pageview': { label: '${label}' } } };\n`;
    const p = await project(config(`maxInFlight: 2, dedupQueueSize: 100, maxAttempts: 4`, 'a'));
    const run = p.startWorker('log', 'pageview', ['--watch', '--max-attempts', '3']);
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['count', 'store']);
    const readyCounts = async (): Promise<number[]> => {
      const topic = (await brokerStats(httpAddress)).topics.find((t) => t.topic_name === 'log');
      return (topic?.channels ?? []).flatMap((channel) => channel.clients.map((client) => client.ready_count));
    };
    expect(await readyCounts()).toEqual([2, 2]);

    await p.write('nsqworker.config.ts', config(`maxInFlight: 7, dedupQueueSize: 200, maxAttempts: 9`, 'a'));
    await run.waitForMessage('worker code reloaded', { reloads: 1 });
    const applied = await run.waitForMessage('nsqworker.config.ts: maxInFlight 7: applied to every task now');
    expect(applied.level).toBe(30);
    const warned = await run.waitForMessage('takes effect when the worker restarts');
    expect(warned.msg).toBe('nsqworker.config.ts: dedupQueueSize 200: changed in the config file; it takes effect when the worker restarts');
    expect(warned.level).toBe(40);
    // RDY follows on the connections the tasks already have.
    await eventually(async () => ((await readyCounts()).join() === '7,7' ? true : undefined), 'RDY 7 on both task connections');

    // A later save that changes only a worker option says nothing more about the runner's settings
    // (what reload 2 would say is logged before reload 3 is).
    for (const [reloads, label] of [[2, 'b'], [3, 'c']] as const) {
      await p.write('nsqworker.config.ts', config(`maxInFlight: 7, dedupQueueSize: 200, maxAttempts: 9`, label));
      await run.waitForMessage('worker code reloaded', { reloads });
    }
    expect(run.lines.filter((line) => /maxInFlight|dedupQueueSize|maxAttempts/.test(String(line.msg)))).toHaveLength(2);
  });
});
