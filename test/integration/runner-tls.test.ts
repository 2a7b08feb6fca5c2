/**
 * The runner and its tools on a secured nsqd (--tls-required=true, --auth-http-address): a worker
 * and `nsqworker pub`/`tail` connect with --tls-ca-file and --auth-secret; a CA file that is missing
 * exits 2 naming the flag; a CA that does not verify the broker is logged and retried, never a hang.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Producer } from '../../client/producer.ts';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';
import { grantAll, startAuthServer, type TestAuthServer } from '../support/auth-server.ts';
import { makeTestCertificates, type TestCertificates } from '../support/certificates.ts';
import { CliProjects, eventually } from './helpers/cli-project.ts';

const projects = new CliProjects();
let certs: TestCertificates;
let auth: TestAuthServer;
let broker: BrokerHandle;
let dataPath: string;
const SECRET = 'runner-secret-4711';
const NO_DEAD_LETTERS = 'runner-secret-no-dead-letters';

beforeAll(async () => {
  certs = makeTestCertificates();
  auth = await startAuthServer((params) => {
    if (params.secret === SECRET) return grantAll();
    // May subscribe and publish to its own topic only: not to its dead letter topic.
    if (params.secret === NO_DEAD_LETTERS) return { kind: 'grant', ttl: 60, authorizations: [{ topic: '^secure_dl$', channels: ['.*'], permissions: ['subscribe', 'publish'] }] };
    return { kind: 'status', status: 403 };
  });
  dataPath = mkdtempSync(join(tmpdir(), 'nsqworker-runner-tls-'));
  broker = await startBroker({
    tcpAddress: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    httpsAddress: '127.0.0.1:0',
    dataPath,
    tlsCert: certs.serverCertFile,
    tlsKey: certs.serverKeyFile,
    tlsRequired: 'true',
    authHttpAddresses: [auth.address],
  });
});
afterEach(() => projects.cleanup());
afterAll(async () => {
  await broker.close();
  await auth.close();
  rmSync(dataPath, { recursive: true, force: true });
  certs.remove();
});

const secureFlags = (): string[] => ['--nsqd-tcp-address', broker.tcpAddress, '--tls-ca-file', certs.caFile, '--auth-secret', SECRET];

describe('the runner on a TLS- and AUTH-secured nsqd', () => {
  it('a worker handles messages with --tls-ca-file and --auth-secret, and never logs the secret', async () => {
    const project = await projects.create();
    await project.writeWorker('secure', 'work', `
import { appendFile } from 'node:fs/promises';
import { defineWorker } from 'nsqworker';
export default defineWorker({
  tasks: {
    async record(message) {
      await appendFile('ran.jsonl', JSON.stringify({ body: message.text() }) + '\\n');
    },
  },
});
`);
    // --nsqd-http-address is plain HTTP: the task channels are made through nsqd's 403 TLS_REQUIRED redirect.
    const run = project.startWorker('secure', 'work', ['--snappy', ...secureFlags(), '--nsqd-http-address', broker.httpAddress]);
    await run.subscribed(['record']);
    expect(broker.nsqd.getTopic('secure')?.getChannel('work')).toBeDefined();
    expect(run.text.join('\n')).not.toMatch(/E_NSQD_TLS_REQUIRED|TLS_REQUIRED/);
    const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress], tls: { ca: certs.ca }, authSecret: SECRET });
    projects.defer(() => producer.close());
    await producer.publish('secure', 'over tls');
    const ran = await eventually(async () => {
      const lines = await project.records<{ body: string }>('ran.jsonl');
      return lines.length > 0 ? lines : undefined;
    }, 'the task to run');
    expect(ran).toEqual([{ body: 'over tls' }]);
    expect(run.text.join('\n')).not.toContain(SECRET);
    expect(run.stderr).not.toContain(SECRET);
  });

  it('a dead letter nsqd refuses is one error line per attempt, the message requeued: no consumer error, no "task failed"', async () => {
    const project = await projects.create();
    await project.writeWorker('secure_dl', 'work', `import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { async t() { throw new Error('card declined'); } } });\n`);
    const flags = ['--nsqd-tcp-address', broker.tcpAddress, '--tls-ca-file', certs.caFile, '--auth-secret', NO_DEAD_LETTERS, '--nsqd-http-address', broker.httpAddress];
    const run = project.startWorker('secure_dl', 'work', [...flags, '--max-attempts', '1', '--requeue-delay', '50ms', '--max-backoff-duration', '100ms']);
    await run.subscribed(['t']);
    const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress], tls: { ca: certs.ca }, authSecret: SECRET });
    projects.defer(() => producer.close());
    await producer.publish('secure_dl', 'x');
    const refusal = /^giving up on message, but it could not be dead-lettered to topic secure_dl\.dead_letter: E_UNAUTHORIZED .*; it is requeued$/;
    await run.waitForLine((line) => run.lines.filter((each) => refusal.test(String(each.msg))).length >= 2, 'two attempts refused');
    const said = run.lines.map((line) => String(line.msg)).filter((msg) => !/^(subscribed|starting|started|ready|worker)/.test(msg));
    expect(said.filter((msg) => /consumer error|task failed|^message requeued/.test(msg))).toEqual([]);
    expect(said.filter((msg) => refusal.test(msg)).length).toBeGreaterThanOrEqual(2);
  });

  it('compression the nsqd does not turn on is said once, not by each task', async () => {
    const plainData = mkdtempSync(join(tmpdir(), 'nsqworker-runner-plain-'));
    const plain = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: plainData, snappy: false });
    projects.defer(async () => {
      await plain.close();
      rmSync(plainData, { recursive: true, force: true });
    });
    const project = await projects.create();
    await project.writeWorker('plain', 'work', `import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { async a() {}, async b() {} } });\n`);
    const run = project.startWorker('plain', 'work', ['--snappy', '--nsqd-tcp-address', plain.tcpAddress, '--nsqd-http-address', plain.httpAddress]);
    await run.subscribed(['a', 'b']);
    const declined = run.lines.filter((line) => line.code === 'W_COMPRESSION_DECLINED' && line.level === 40);
    expect(declined.map((line) => line.msg)).toEqual([`${plain.tcpAddress} did not turn on snappy (nsqd runs with --snappy=false): this connection is not compressed`]);
  });

  it('a CA file that does not exist exits 2 naming the flag', async () => {
    const project = await projects.create();
    await project.writeWorker('secure', 'work', `import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { async t() {} } });\n`);
    const result = await project.run(['--topic', 'secure', '--channel', 'work', '--nsqd-tcp-address', broker.tcpAddress, '--tls-ca-file', project.path('missing.pem')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--tls-ca-file');
  });

  it('a CA that does not verify the broker is logged with the address and reason and retried, not a hang', async () => {
    const project = await projects.create();
    await project.writeWorker('secure', 'work', `import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { async t() {} } });\n`);
    const run = project.startWorker('secure', 'work', [
      '--nsqd-tcp-address',
      broker.tcpAddress,
      '--tls-ca-file',
      certs.otherCaFile,
      '--auth-secret',
      SECRET,
      '--health-address',
      '127.0.0.1:0',
    ]);
    const health = String((await run.waitForLine((line) => typeof line.healthAddress === 'string', 'the health address')).healthAddress);
    const seen: string[] = [];
    await run.waitForLine((line) => {
      const text = JSON.stringify(line);
      if (text.includes(broker.tcpAddress) && /TLS|certificate/i.test(text)) seen.push(text);
      return seen.length >= 2;
    }, 'two logged TLS failures (a retry)');
    expect(run.child.exitCode).toBeNull();
    expect((await fetch(`http://${health}/healthz`)).status).toBe(503);
  });

  it('nsqworker pub and tail take the same flags', async () => {
    const project = await projects.create();
    const topic = `secure_tools_${process.pid}`;
    const tail = project.spawn(['tail', '--topic', topic, '-n', '2', ...secureFlags()]);
    // Published before tail subscribes or after: a topic keeps its messages until its first channel appears.
    const pub = await project.run(['pub', '--topic', topic, ...secureFlags(), 'one', 'two']);
    expect(pub.code).toBe(0);
    expect((await tail.waitForExit()).code).toBe(0);
    expect(tail.text).toEqual(['one', 'two']);
  });

  it('nsqworker stats follows nsqd\'s 403 TLS_REQUIRED to its https port with --tls-ca-file', async () => {
    const project = await projects.create();
    const topic = `secure_stats_${process.pid}`;
    broker.nsqd.getOrCreateTopic(topic).getOrCreateChannel('watch');
    const plain = await project.run(['stats', '--topic', topic, '--channel', 'watch', '--nsqd-http-address', broker.httpAddress, '--count', '1']);
    expect(plain.code).toBe(1);
    const secure = await project.run(['stats', '--topic', topic, '--channel', 'watch', '--nsqd-http-address', broker.httpAddress, '--count', '1', '--tls-ca-file', certs.caFile]);
    expect(secure.code).toBe(0);
    expect(secure.stdout).toContain('depth');
  });
});
