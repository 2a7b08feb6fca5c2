/**
 * Starts a broker in its own process for benchmarks: the bundled one (`nsqworker broker`) or a real
 * nsqd from `NSQD_BIN`, on free loopback ports and a fresh data path. The load runs in the bench
 * process, so the broker has a core of its own, as it would in production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackFolder, trackProcess } from './children.ts';

export interface BrokerProcess {
  name: string;
  tcpPort: number;
  httpPort: number;
  pid: number;
  /** Peak resident set size so far, in bytes (Linux VmHWM). */
  peakRssBytes(): number;
  rssBytes(): number;
  /** SIGTERM (SIGKILL after 30 s), then removes the data path. */
  stop(): Promise<void>;
  /**
   * SIGKILL, then removes the data path: for a broker whose messages are thrown away anyway. A clean
   * stop of nsqd writes its whole in-memory backlog to disk first, which takes seconds.
   */
  discard(): Promise<void>;
  /** The last lines the broker wrote to stderr, for an error message. */
  stderrTail(): string;
}

const CLI = fileURLToPath(new URL('../../bin/nsqworker.js', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function procStatusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

export async function waitForHttp(port: number, deadlineMs: number): Promise<void> {
  while (Date.now() < deadlineMs) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ping`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`broker on HTTP port ${port} did not come up`);
}

export async function startBrokerProcess(kind: 'bundled' | 'nsqd', extraArgs: string[] = []): Promise<BrokerProcess> {
  const bin = process.env.NSQD_BIN;
  if (kind === 'nsqd' && bin === undefined) throw new Error('NSQD_BIN is not set');
  const tcpPort = await freePort();
  const httpPort = await freePort();
  const dataPath = mkdtempSync(join(tmpdir(), `bench-${kind}-`));
  const removeDataPath = trackFolder(dataPath);
  const args = [`--tcp-address=127.0.0.1:${tcpPort}`, `--http-address=127.0.0.1:${httpPort}`, `--data-path=${dataPath}`, ...extraArgs];
  let child: ChildProcess;
  if (kind === 'bundled') {
    // As deploy/ runs it: a 4 MB young generation (see deploy/nsqworker-instance).
    child = spawn(process.execPath, ['--max-semi-space-size=4', CLI, 'broker', '--log-level=warn', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  } else {
    child = spawn(bin!, ['--log-level=warn', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  trackProcess(child);
  // Kept rather than shown: nsqd logs every reader that hangs up (bench_reader always does) at
  // error level, which would break the tables up.
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForHttp(httpPort, Date.now() + 15_000);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    removeDataPath();
    throw new Error(`${kind} broker did not start: ${stderr}`, { cause: error });
  }
  const pid = child.pid!;
  return {
    name: kind === 'bundled' ? 'nsqworker' : 'nsqd',
    tcpPort,
    httpPort,
    pid,
    peakRssBytes: () => procStatusBytes(pid, 'VmHWM'),
    rssBytes: () => procStatusBytes(pid, 'VmRSS'),
    async stop() {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
      removeDataPath();
    },
    async discard() {
      child.kill('SIGKILL');
      await exited;
      removeDataPath();
    },
    stderrTail: () => stderr,
  };
}
