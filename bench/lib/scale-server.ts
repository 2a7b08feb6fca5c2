/**
 * A broker process on a data path the caller keeps, so it can be stopped and started again on the
 * same state (startBrokerProcess removes its data path at stop): the bundled broker as users run it,
 * or real nsqd from NSQD_BIN.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, procStatusBytes, waitForHttp } from './broker-process.ts';

const CLI = fileURLToPath(new URL('../../bin/nsqworker.js', import.meta.url));

export interface Server {
  tcpPort: number;
  httpPort: number;
  pid: number;
  rssBytes(): number;
  peakRssBytes(): number;
  /** SIGTERM; resolves with the milliseconds until the process exited (0 when it had already). */
  stop(): Promise<number>;
}

export async function startServer(kind: 'bundled' | 'nsqd', dataPath: string): Promise<Server> {
  const tcpPort = await freePort();
  const httpPort = await freePort();
  const args = [`--tcp-address=127.0.0.1:${tcpPort}`, `--http-address=127.0.0.1:${httpPort}`, `--data-path=${dataPath}`, '--log-level=warn'];
  const child =
    kind === 'bundled'
      ? spawn(process.execPath, ['--max-semi-space-size=4', CLI, 'broker', ...args], { stdio: ['ignore', 'ignore', 'inherit'] })
      : spawn(process.env.NSQD_BIN!, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForHttp(httpPort, Date.now() + 120_000);
  const pid = child.pid!;
  return {
    tcpPort,
    httpPort,
    pid,
    rssBytes: () => procStatusBytes(pid, 'VmRSS'),
    peakRssBytes: () => procStatusBytes(pid, 'VmHWM'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return 0;
      const started = performance.now();
      child.kill('SIGTERM');
      await exited;
      return performance.now() - started;
    },
  };
}
