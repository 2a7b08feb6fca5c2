/**
 * One broker per data path, with a lock the kernel frees when its holder dies: a live holder is
 * refused with E_DATA_PATH_LOCKED, a lock left by a killed broker is taken over whatever pid it
 * names (even the new broker's own, as for PID 1 in a container), and racing brokers start one.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataPathLockedError } from '../../broker/nsqd/data-lock.ts';
import { killAllChildBrokers, spawnBroker, startChildBroker, type ChildBroker } from '../support/child-broker.ts';
import { BrokerHarness, httpRequest } from './helpers/broker-harness.ts';

let harness = new BrokerHarness();
afterEach(async () => {
  await killAllChildBrokers();
  await harness.cleanup();
  harness = new BrokerHarness();
});

describe('data-path lock', () => {
  it('refuses a second broker while the first lives, and names its pid', async () => {
    const dataPath = await harness.tempDir();
    const first = await startChildBroker({ dataPath });
    const second = await spawnBroker({ dataPath });
    expect(second).toMatchObject({ error: 'E_DATA_PATH_LOCKED', ownerPid: first.pid });
    const inProcess = harness.start({ dataPath });
    await expect(inProcess).rejects.toBeInstanceOf(DataPathLockedError);
    await expect(inProcess).rejects.toMatchObject({ code: 'E_DATA_PATH_LOCKED', ownerPid: first.pid });
    // The first broker is unharmed.
    expect((await httpRequest(first.http, 'GET', '/ping')).text).toBe('OK');
  });

  it('a file where the data path must be a folder is named as such', async () => {
    const dir = await harness.tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    for (const dataPath of [file, join(file, 'below')]) {
      await expect(harness.start({ dataPath })).rejects.toMatchObject({
        code: 'E_DATA_PATH_LOCK_FAILED',
        message: `cannot use data path ${dataPath}: a file is there, or above it, where a folder must be`,
      });
    }
  });

  it('takes over the lock of a broker killed with SIGKILL', async () => {
    const dataPath = await harness.tempDir();
    const killed = await startChildBroker({ dataPath });
    await killed.kill();
    expect(existsSync(join(dataPath, 'nsqworker.lock'))).toBe(true);
    const next = await startChildBroker({ dataPath });
    expect((await httpRequest(next.http, 'GET', '/ping')).text).toBe('OK');
  });

  it('takes over a stale lock holding the new broker\'s own pid (PID 1 in a container)', async () => {
    const dataPath = await harness.tempDir();
    // The pid-file lock of earlier versions, naming this very process: the broker starting here.
    writeFileSync(join(dataPath, 'nsqworker.lock'), `${process.pid}\n`);
    const broker = await harness.start({ dataPath });
    expect((await httpRequest(broker.httpAddress, 'GET', '/ping')).text).toBe('OK');
    await harness.stop(broker);
    // A clean stop leaves no lock behind.
    expect(existsSync(join(dataPath, 'nsqworker.lock'))).toBe(false);
  });

  it('takes over a stale lock holding the pid of another live process', async () => {
    const dataPath = await harness.tempDir();
    const bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dataPath, 'nsqworker.lock'), `${bystander.pid}\n`);
      const broker = await startChildBroker({ dataPath });
      expect((await httpRequest(broker.http, 'GET', '/ping')).text).toBe('OK');
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('two brokers racing over a stale lock: exactly one starts', async () => {
    for (let round = 0; round < 3; round++) {
      const dataPath = await harness.tempDir();
      const killed = await startChildBroker({ dataPath });
      await killed.kill();
      const results = await Promise.all([spawnBroker({ dataPath }), spawnBroker({ dataPath })]);
      const started = results.filter((r): r is ChildBroker => !('error' in r));
      const refused = results.filter((r) => 'error' in r);
      expect(started.length, `round ${round}: ${JSON.stringify(refused)}`).toBe(1);
      expect(refused).toEqual([expect.objectContaining({ error: 'E_DATA_PATH_LOCKED', ownerPid: started[0]!.pid })]);
      await started[0]!.kill();
    }
  });

  it('two brokers racing in one process: exactly one starts', async () => {
    const dataPath = await harness.tempDir();
    const results = await Promise.allSettled([harness.start({ dataPath }), harness.start({ dataPath })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected?.reason).toMatchObject({ code: 'E_DATA_PATH_LOCKED', ownerPid: process.pid });
  });
});
