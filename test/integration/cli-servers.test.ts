/**
 * `nsqworker broker` and `nsqworker lookupd` as processes: nsqd's flag names, bound addresses in the
 * startup log, a clean stop on SIGTERM that keeps every message, and usage errors with status 2.
 */
import { mkdir } from 'node:fs/promises';
import { expect } from 'vitest';
import { eventually, type CliProject } from './helpers/cli-project.ts';
import { cliTest } from './helpers/cli-test.ts';
import { makeTestCertificates } from '../support/certificates.ts';

/** A data path in the test's project, removed with it. */
async function dataDir(project: CliProject): Promise<string> {
  const dir = project.path('data');
  await mkdir(dir, { recursive: true });
  return dir;
}

cliTest.concurrent('runs the broker with nsqd flags, stops cleanly on SIGTERM, and keeps its messages across a restart', async ({ projects }) => {
  const project = await projects.create();
  const dataPath = await dataDir(project);
  const flags = ['--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--data-path', dataPath, '--msg-timeout', '10s', '--mem-queue-size', '5'];
  const first = project.spawn(['broker', ...flags]);
  const listening = await first.waitForMessage('TCP: listening on');
  const httpAddress = String(listening.httpAddress);
  const config = await (await fetch(`http://${httpAddress}/config/msg_timeout`)).json();
  expect(config).toBe(10_000_000_000);
  for (let i = 0; i < 12; i++) {
    const response = await fetch(`http://${httpAddress}/pub?topic=kept`, { method: 'POST', body: `m${i}` });
    expect(response.status).toBe(200);
  }
  first.kill('SIGTERM');
  expect(await first.waitForExit()).toEqual({ code: 0, signal: null });

  const second = project.spawn(['broker', ...flags]);
  const again = String((await second.waitForMessage('TCP: listening on')).httpAddress);
  const depth = await eventually(async () => {
    const stats = (await (await fetch(`http://${again}/stats?format=json&topic=kept`)).json()) as { topics: Array<{ depth: number }> | null };
    return stats.topics?.[0]?.depth;
  }, 'the topic after the restart');
  expect(depth).toBe(12);
  second.kill('SIGTERM');
  expect((await second.waitForExit()).code).toBe(0);
});

cliTest.concurrent('stops on SIGTERM, keeping its messages, after the reader of its log (stdout) has gone', async ({ projects }) => {
  // A log pipe whose reader died (a log shipper restarted, `nsqworker broker | head`): the broker's last
  // log lines fail with EPIPE, and it must still stop as asked rather than retry them for ever.
  const project = await projects.create();
  const dataPath = await dataDir(project);
  const flags = ['--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--data-path', dataPath];
  const first = project.spawn(['broker', ...flags]);
  const httpAddress = String((await first.waitForMessage('TCP: listening on')).httpAddress);
  for (const topic of ['a', 'b', 'c']) {
    expect((await fetch(`http://${httpAddress}/pub?topic=${topic}`, { method: 'POST', body: topic })).status).toBe(200);
  }
  await first.waitForMessage('TOPIC: created', { topic: 'c' });
  // Gone with nothing logged since: the lines of the stop are the first to fail.
  first.child.stdout!.destroy();
  first.kill('SIGTERM');
  expect(await first.waitForExit(10_000)).toEqual({ code: 0, signal: null });

  const second = project.spawn(['broker', ...flags]);
  const again = String((await second.waitForMessage('TCP: listening on')).httpAddress);
  const stats = (await (await fetch(`http://${again}/stats?format=json`)).json()) as { topics: Array<{ topic_name: string; depth: number }> };
  expect(stats.topics.map((topic) => [topic.topic_name, topic.depth])).toEqual([['a', 1], ['b', 1], ['c', 1]]);
  second.kill('SIGTERM');
  expect((await second.waitForExit()).code).toBe(0);
});

// Alone, as the next one: their requests' times are what they look at.
cliTest('keeps serving while its log (stdout) is not read, and still stops on SIGTERM', async ({ projects }) => {
  // A log reader that falls behind or hangs: the pipe fills, and logging must wait without the broker waiting.
  const project = await projects.create();
  // The format named, as a supervisor's environment may: then nothing looks at stdout to choose it,
  // and stdout was left blocking (writes into the full pipe blocked the broker).
  const run = project.spawn(['broker', '--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--data-path', await dataDir(project)], { NSQWORKER_LOG_FORMAT: 'json' });
  const httpAddress = String((await run.waitForMessage('TCP: listening on')).httpAddress);
  run.child.stdout!.pause();
  // A request that waited for the reader would wait for ever (it reads nothing meanwhile): aborted at 5 s.
  expect(await slowestTopicCreation(httpAddress, 500), 'no request waited for the log reader').toBeLessThan(3000);
  run.kill('SIGTERM');
  const exited = run.waitForExit(10_000);
  run.child.stdout!.resume();
  expect(await exited).toEqual({ code: 0, signal: null });
  // A reader that reads again within the exit's wait gets every line, the stop's last among them.
  expect(run.lines.filter((line) => String(line.msg) === 'TOPIC: created').length).toBe(500);
  expect(run.lines.at(-1)?.msg).toBe('broker stopped; state persisted');
});

/**
 * Creates `count` topics through the broker's HTTP API, each answered 200; the slowest answer, in ms.
 * Each topic's name is as long as a name may be (64), and logs a line of about 220 bytes: 500 of
 * them are more than a pipe holds (64 KiB).
 */
async function slowestTopicCreation(httpAddress: string, count: number): Promise<number> {
  let slowestMs = 0;
  for (let i = 0; i < count; i++) {
    const started = Date.now();
    const topic = `unread_${i}_`.padEnd(64, 'x');
    const response = await fetch(`http://${httpAddress}/topic/create?topic=${topic}`, { method: 'POST', signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(200);
    slowestMs = Math.max(slowestMs, Date.now() - started);
  }
  return slowestMs;
}

cliTest('says on stderr how many log lines it could not write when stdout is not read by its exit', async ({ projects }) => {
  const project = await projects.create();
  const run = project.spawn(['broker', '--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--data-path', await dataDir(project)]);
  const httpAddress = String((await run.waitForMessage('TCP: listening on')).httpAddress);
  run.child.stdout!.pause();
  await slowestTopicCreation(httpAddress, 500);
  run.kill('SIGTERM');
  // The exit waits its 2 s for the reader, then goes, and says so.
  expect(await run.waitForExit(10_000)).toEqual({ code: 0, signal: null });
  expect(run.stderr).toMatch(/^nsqworker: [1-9]\d* log lines not written at exit: standard output was not read for 2 s\n$/);
});

cliTest.concurrent('runs the lookupd with nsqlookupd flags and stops cleanly on SIGTERM', async ({ projects }) => {
  const project = await projects.create();
  const run = project.spawn(['lookupd', '--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--tombstone-lifetime', '5s']);
  const httpAddress = String((await run.waitForMessage('TCP: listening on')).httpAddress);
  const ping = await fetch(`http://${httpAddress}/ping`);
  expect(await ping.text()).toBe('OK');
  run.kill('SIGTERM');
  expect((await run.waitForExit()).code).toBe(0);
});

cliTest.concurrent('registers the broker with lookupd under --broadcast-address, a host, beside its ports (--broadcast-*-port)', async ({ projects }) => {
  const project = await projects.create();
  const lookupd = project.spawn(['lookupd', '--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--broadcast-address', '127.0.0.1']);
  const lookupdListening = await lookupd.waitForMessage('TCP: listening on');
  const broker = project.spawn(['broker', '--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--data-path', await dataDir(project), '--broadcast-address', '127.0.0.1', '--broadcast-http-port', '4999', '--lookupd-tcp-address', String(lookupdListening.tcpAddress)]);
  const listening = await broker.waitForMessage('TCP: listening on');
  await fetch(`http://${String(listening.httpAddress)}/topic/create?topic=found`, { method: 'POST' });
  const producer = await eventually(async () => {
    const answer = (await (await fetch(`http://${String(lookupdListening.httpAddress)}/lookup?topic=found`)).json()) as { producers?: Array<{ broadcast_address: string; tcp_port: number; http_port: number }> };
    return answer.producers?.[0];
  }, 'the broker registered with the topic');
  // --broadcast-http-port registers its port; the TCP one, not given, is the port listened on.
  expect(producer).toMatchObject({ broadcast_address: '127.0.0.1', http_port: 4999, tcp_port: Number(String(listening.tcpAddress).split(':')[1]) });
  broker.kill('SIGTERM');
  lookupd.kill('SIGTERM');
  expect((await broker.waitForExit()).code).toBe(0);
  expect((await lookupd.waitForExit()).code).toBe(0);
});

cliTest.concurrent("shows each flag's default in help, as nsqd's -help does; a tool's own flags first", async ({ projects }) => {
  const project = await projects.create();
  const [broker, lookupd, pub] = await Promise.all([project.run(['help', 'broker']), project.run(['help', 'lookupd']), project.run(['help', 'pub'])]);
  expect(broker.code).toBe(0);
  // A tool's own flags first, then the TLS, AUTH and compression flags it shares with the others.
  const flags = [...pub.stdout.matchAll(/^ {2}(--[a-z-]+)/gm)].map((match) => match[1]);
  expect(flags.slice(0, 4)).toEqual(['--topic', '--nsqd-tcp-address', '--delimiter', '--rate']);
  expect(flags.indexOf('--tls')).toBeGreaterThan(3);
  expect(broker.stdout).toMatch(/--tcp-address <value> +<addr>:<port> to listen on for TCP clients \(default 0\.0\.0\.0:4150\)/);
  expect(broker.stdout).toMatch(/--msg-timeout <duration> +default duration to wait before auto-requeing a message \(default 1m0s\)/);
  expect(broker.stdout).toMatch(/--snappy \[value\] +enable snappy feature negotiation \(client compression\) \(default true\)/);
  expect(lookupd.stdout).toMatch(/--tombstone-lifetime <duration> +.* \(default 45s\)/);
});

cliTest.concurrent('prints the version for --version and exits 0, as nsqd does, instead of starting (and so do the tools and dev)', async ({ projects }) => {
  const project = await projects.create();
  const data = await dataDir(project);
  // Free ports and a data path of its own: should --version start a server, it takes nothing of anyone's.
  const free = ['--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0'];
  const runs = await Promise.all([
    project.run(['broker', '--version', ...free, '--data-path', data], {}, 10_000),
    project.run(['lookupd', '--version', ...free], {}, 10_000),
    project.run(['pub', '--version'], {}, 10_000),
    project.run(['dev', '--version', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', data, '--console-address', 'off'], {}, 10_000),
    // A run's command line, with or without a worker named: the version, and no worker starts.
    project.run(['--topic', 'log', '--channel', 'pageview', '--data-path', data, '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--version'], {}, 10_000),
    project.run(['--workers-dir', 'workers', '--version'], {}, 10_000),
  ]);
  for (const run of runs) expect({ code: run.code, stdout: run.stdout.trim() }).toEqual({ code: 0, stdout: expect.stringMatching(/^nsqworker\/0\.1\.0 /) });
});

cliTest.concurrent('answers a bad broker or lookupd flag with status 2 and a message naming it', async ({ projects }) => {
  const project = await projects.create();
  const badInt = await project.run(['broker', '--mem-queue-size', 'lots']);
  expect(badInt.code).toBe(2);
  expect(badInt.stderr).toContain('--mem-queue-size');
  // What is wrong and what is good, not zod/mini's bare "Invalid input".
  const negative = await project.run(['broker', '--mem-queue-size=-5']);
  expect(negative.code).toBe(2);
  expect(negative.stderr.trim()).toBe('nsqworker: --mem-queue-size -5: Too small: expected number to be >=0');
  const badDuration = await project.run(['lookupd', '--inactive-producer-timeout', 'soon']);
  expect(badDuration.code).toBe(2);
  expect(badDuration.stderr).toContain('--inactive-producer-timeout');
  // nsqd's flags are Go durations: a bare number is refused (it would be milliseconds otherwise).
  const bareNumber = await project.run(['broker', '--msg-timeout', '5']);
  expect(bareNumber.code).toBe(2);
  expect(bareNumber.stderr.trim()).toBe('nsqworker: --msg-timeout: time: missing unit in duration "5" (a Go duration, such as 5s or 5ms)');
  // nsqd's own one-dash form, from a unit file written for nsqd: named as typed, not as the letter -m.
  const goStyle = await project.run(['broker', '-mem-queue-size=5']);
  expect(goStyle.code).toBe(2);
  expect(goStyle.stderr.trim()).toBe("nsqworker: unknown flag -mem-queue-size; did you mean --mem-queue-size? (flags take two dashes here, where NSQ's Go programs take one)");
  // One with an h in it was read as -h among bundled letters: the help, exit 0, and no broker.
  const [dataPath, lookupdHttp, adminHttp] = await Promise.all([
    project.run(['broker', '--tcp-address', '127.0.0.1:0', '-data-path', 'd']),
    project.run(['lookupd', '-http-address=127.0.0.1:0']),
    project.run(['admin', '-http-address=127.0.0.1:0', '--nsqd-http-address', '127.0.0.1:1']),
  ]);
  expect({ code: adminHttp.code, stderr: adminHttp.stderr.trim() }).toEqual({ code: 2, stderr: "nsqworker: unknown flag -http-address; did you mean --http-address? (flags take two dashes here, where NSQ's Go programs take one)" });
  expect({ code: dataPath.code, stderr: dataPath.stderr.trim() }).toEqual({ code: 2, stderr: "nsqworker: unknown flag -data-path; did you mean --data-path? (flags take two dashes here, where NSQ's Go programs take one)" });
  expect({ code: lookupdHttp.code, stderr: lookupdHttp.stderr.trim() }).toEqual({ code: 2, stderr: "nsqworker: unknown flag -http-address; did you mean --http-address? (flags take two dashes here, where NSQ's Go programs take one)" });
});

cliTest.concurrent('exits 2 naming the flag for a TLS file that cannot be read, or TLS required without a certificate', async ({ projects }) => {
  const project = await projects.create();
  const data = await dataDir(project);
  const common = ['broker', '--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--data-path', data];
  const missing = await project.run([...common, '--tls-cert', project.path('missing.pem'), '--tls-key', project.path('missing.key')]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('--tls-cert');
  const required = await project.run([...common, '--tls-required']);
  expect(required.code).toBe(2);
  expect(required.stderr).toContain('cannot require TLS client connections without TLS key and cert');
  // One of the pair alone, and the two swapped: the flag and the file at fault are named.
  const certs = makeTestCertificates();
  try {
    const alone = await project.run([...common, '--tls-cert', certs.serverCertFile]);
    expect(alone.code).toBe(2);
    expect(alone.stderr.trim()).toBe('nsqworker: --tls-cert needs --tls-key too: give the certificate and its key, or neither');
    const swapped = await project.run([...common, '--tls-cert', certs.serverKeyFile, '--tls-key', certs.serverCertFile]);
    expect(swapped.code).toBe(2);
    expect(swapped.stderr).toContain(`nsqworker: --tls-cert ${certs.serverKeyFile} is not a PEM certificate`);
  } finally {
    certs.remove();
  }
});

cliTest.concurrent('takes nsqd\'s switch flags bare or with a value, and shows them in /config', async ({ projects }) => {
  const project = await projects.create();
  const run = project.spawn(['broker', '--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--data-path', await dataDir(project), '--snappy=false', '--deflate', '--max-deflate-level', '9']);
  const started = await run.waitForLine((line) => typeof line.httpAddress === 'string', 'the startup line');
  const read = async (name: string): Promise<string> => (await fetch(`http://${String(started.httpAddress)}/config/${name}`)).text();
  expect([await read('snappy'), await read('deflate'), await read('max_deflate_level'), await read('tls_required')]).toEqual(['false', 'true', '9', '0']);
  run.kill('SIGTERM');
  expect((await run.waitForExit()).code).toBe(0);
});

cliTest.concurrent('runs the console with nsqadmin flags from the build, serving the bundled page, and the broker its /metrics', async ({ projects }) => {
  const project = await projects.create();
  const dataPath = await dataDir(project);
  const broker = project.spawn(['broker', '--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--data-path', dataPath]);
  const nsqdHttp = String((await broker.waitForMessage('TCP: listening on')).httpAddress);
  // The broker runs from its own bundle, which leaves prom-client out: /metrics requires it on demand.
  expect(await (await fetch(`http://${nsqdHttp}/metrics`)).text()).toContain('nsq_healthy 1');
  const admin = project.spawn(['nsqadmin', '--http-address', '127.0.0.1:0', '--nsqd-http-address', nsqdHttp, '--base-path', '/nsq', '--read-only', '--poll-interval', '200ms']);
  const httpAddress = String((await admin.waitForMessage('console: listening on')).httpAddress);
  const script = await fetch(`http://${httpAddress}/nsq/assets/app.js`);
  expect(script.status).toBe(200);
  expect((await script.text()).length).toBeGreaterThan(10_000);
  const overview = await eventually(async () => {
    const body = (await (await fetch(`http://${httpAddress}/nsq/api/overview`)).json()) as { readOnly: boolean; nodes: Array<{ address: string; up: boolean }> };
    return body.nodes.length > 0 ? body : undefined;
  }, 'the first poll');
  expect(overview).toMatchObject({ readOnly: true, nodes: [{ address: nsqdHttp, up: true }] });
  admin.kill('SIGTERM');
  expect((await admin.waitForExit()).code).toBe(0);
  broker.kill('SIGTERM');
  expect((await broker.waitForExit()).code).toBe(0);
});
