/**
 * A full disk, on a 2 MB tmpfs mounted by the test (as root; skipped with a message where mounting is
 * impossible), with a broker in sync mode in a child process: publishing past the space is refused
 * with nsqd's errors (E_PUB_FAILED, E_MPUB_FAILED; HTTP /pub 503 EXITING as nsqd answers a failed put,
 * and /ping 500 NOK), consumers keep draining, publishing works again once space is freed, and after a
 * restart every acknowledged message is there, intact, with no damage found.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeMpub, encodePub } from '../../protocol/commands.ts';
import { FrameType } from '../../protocol/frames.ts';
import { killAllChildBrokers, startChildBroker } from '../support/child-broker.ts';
import { BrokerHarness, httpRequest, waitFor } from './helpers/broker-harness.ts';
import type { RawClient } from './helpers/raw-client.ts';

const harness = new BrokerHarness();
let mountPoint: string | undefined;
let mountError: string | undefined;

beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'nsqd-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
    mountPoint = dir;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    mountError = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
  }
});

afterEach(async () => {
  await killAllChildBrokers();
  await harness.cleanup();
  if (mountPoint !== undefined) {
    execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
    mountPoint = undefined;
  }
});

const SYNC = { memQueueSize: 0, syncEvery: 1, maxBytesPerFile: 64 * 1024 };
const body = (i: number): Buffer => Buffer.from(`msg-${String(i).padStart(6, '0')}-${'x'.repeat(180)}`);

/** PUBs one at a time until one is refused; returns how many were acknowledged, and the error. */
async function publishUntilRefused(pub: RawClient, topic: string, from: number): Promise<{ acked: number; error: string }> {
  for (let i = from; ; i++) {
    pub.send(encodePub(topic, body(i)));
    const frame = await pub.nextFrame();
    if (frame.type === FrameType.Error) return { acked: i - from, error: frame.data.toString() };
  }
}

describe('disk full', () => {
  it('refuses publishes with nsqd errors, keeps serving consumers, recovers when space is freed, corrupts nothing', async (context) => {
    if (mountPoint === undefined) {
      console.warn(`disk-full test skipped: cannot mount a tmpfs here (${mountError})`);
      context.skip();
      return;
    }
    const dataPath = join(mountPoint, 'data');
    const topic = 'full';
    let broker = await startChildBroker({ dataPath, ...SYNC });
    await httpRequest(broker.http, 'POST', `/topic/create?topic=${topic}`);
    await httpRequest(broker.http, 'POST', `/channel/create?topic=${topic}&channel=c`);
    // Most of the space goes to a file the test can free later.
    const filler = join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(1024 * 1024));

    const pub = await harness.connect(broker.tcp);
    const first = await publishUntilRefused(pub, topic, 0);
    expect(first.acked).toBeGreaterThan(100);
    expect(first.error).toMatch(/^E_PUB_FAILED PUB failed .*ENOSPC/);
    let acked = first.acked;
    // Fatal, as in nsqd: the connection is closed.
    await pub.waitClosed();
    const mpub = await harness.connect(broker.tcp);
    mpub.send(encodeMpub(topic, [body(900_000), body(900_001)]));
    expect((await mpub.nextFrame()).data.toString()).toMatch(/^E_MPUB_FAILED MPUB failed /);
    const http = await httpRequest(broker.http, 'POST', `/pub?topic=${topic}`, body(900_002));
    expect({ status: http.status, text: http.text }).toEqual({ status: 503, text: '{"message":"EXITING"}' });
    const ping = await httpRequest(broker.http, 'GET', '/ping');
    expect(ping.status).toBe(500);
    expect(ping.text).toMatch(/^NOK - .*ENOSPC/);

    // Consumers keep draining while the disk is full.
    const sub = await harness.subscriber(broker.tcp, topic, 'c', 10);
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const message = await sub.nextMessage();
      seen.add(message.body.toString());
      sub.send(`FIN ${message.id}\n`);
    }
    sub.close();

    // Space freed: publishing works again, and the broker is healthy.
    unlinkSync(filler);
    const again = await harness.connect(broker.tcp);
    for (let i = 0; i < 100; i++) {
      again.send(encodePub(topic, body(acked + i)));
      await again.expectResponse('OK');
    }
    acked += 100;
    expect((await httpRequest(broker.http, 'GET', '/ping')).text).toBe('OK');

    // Nothing corrupted: after kill -9 and a restart, every acknowledged message is there, whole.
    await broker.kill();
    broker = await startChildBroker({ dataPath, ...SYNC });
    const drain = await harness.subscriber(broker.tcp, topic, 'c', 100);
    const expected = new Set(Array.from({ length: acked }, (_, i) => body(i).toString()));
    await waitFor(async () => {
      while (drain.pending > 0) {
        const message = await drain.nextMessage();
        seen.add(message.body.toString());
        drain.send(`FIN ${message.id}\n`);
      }
      return [...expected].every((b) => seen.has(b));
    }, 'every acknowledged message', 20_000);
    expect(broker.stderr()).not.toMatch(/damaged|torn tail|read error/);
  }, 60_000);
});
