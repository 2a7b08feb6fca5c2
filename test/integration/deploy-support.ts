/**
 * What the deploy tests share: finding the system tools they drive (systemd-analyze, supervisord),
 * free ports, a bundled broker per test, and reading /healthz and /metrics.
 *
 * A missing tool skips its tests on a developer's machine, with the reason; under CI (CI=true),
 * where .ci/run installs them, it fails instead, so a broken install step cannot pass silently.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';
import type { BrokerOptionsInput } from '../../broker/nsqd/options.ts';

/** The absolute path of a command on PATH, or undefined. */
export function findTool(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const resolved = found.stdout.trim();
  return found.status === 0 && resolved !== '' ? resolved : undefined;
}

export const IN_CI = process.env.CI === 'true';

/** Why a tool's tests cannot run here, or undefined when they can. */
export function missingTool(name: string, aptPackage: string): string | undefined {
  if (findTool(name) !== undefined) return undefined;
  return `${name} is not installed (apt-get install -y ${aptPackage}; .ci/run installs it)`;
}

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Brokers and temp folders of one test file; `cleanup()` in afterEach closes and removes them. */
export class DeployResources {
  private readonly releases: Array<() => Promise<unknown>> = [];

  async tempDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    this.releases.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** A bundled broker on 127.0.0.1 (port 0 unless given) with a temp data path. */
  async broker(options: BrokerOptionsInput = {}): Promise<BrokerHandle> {
    const dataPath = await this.tempDir('nsqworker-deploy-broker-');
    const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath, ...options });
    this.releases.push(() => broker.close());
    return broker;
  }

  /** Registers something else to release; releases run last-in, first-out. */
  defer(release: () => Promise<unknown>): void {
    this.releases.push(release);
  }

  async cleanup(): Promise<void> {
    for (const release of this.releases.splice(0).reverse()) await release().catch(() => undefined);
  }
}

/** One GET on a fresh connection: status and text, or the connection error's code (ECONNREFUSED). */
export async function httpGet(url: string): Promise<{ status: number; text: string } | { error: string }> {
  try {
    const response = await fetch(url, { headers: { Connection: 'close' }, signal: AbortSignal.timeout(5000) });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { error: cause?.code ?? (error as Error).message };
  }
}

/**
 * The value of one sample in Prometheus text: `name{labels}` where every label given matches
 * (other labels may be present); undefined when no sample matches.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found[pair[1]!] = pair[2]!;
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}
