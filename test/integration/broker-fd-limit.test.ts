/**
 * At its file-descriptor limit the broker says so and keeps serving: a child broker limited to 64
 * open files, offered 100 connections, logs that it refused connections for too many open files
 * (with the limit and how to raise it), stays up, and serves again once connections close.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { killAllChildBrokers, startChildBroker } from '../support/child-broker.ts';
import { BrokerHarness, httpRequest, waitFor } from './helpers/broker-harness.ts';

const harness = new BrokerHarness();
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await killAllChildBrokers();
  await harness.cleanup();
});

describe('file-descriptor limit', () => {
  it('logs the refused connections with the limit, stays up, and serves again when they close', async () => {
    const broker = await startChildBroker({ dataPath: await harness.tempDir() }, 64);
    const [host, port] = [broker.tcp.slice(0, broker.tcp.lastIndexOf(':')), Number(broker.tcp.slice(broker.tcp.lastIndexOf(':') + 1))];
    for (let i = 0; i < 100; i++) {
      const socket = connect({ host, port });
      socket.on('error', () => {});
      sockets.push(socket);
    }
    const line = await waitFor(
      () => broker.stderr().split('\n').find((l) => l.includes('too many open files')),
      'the broker to log its file limit',
      10_000,
    );
    expect(JSON.parse(line)).toMatchObject({ listener: 'TCP', openFilesLimit: 64, openFiles: expect.any(Number) });
    expect(broker.child.exitCode).toBeNull();
    for (const socket of sockets.splice(0)) socket.destroy();
    await waitFor(async () => (await httpRequest(broker.http, 'GET', '/ping').catch(() => undefined))?.text === 'OK', 'the broker to serve again');
  });
});
