/**
 * End-to-end latency as a user of the client sees it: the bundled broker in its own process, and
 * this package's `Producer` and `Consumer` together in one other process (lib/latency-client.ts;
 * one clock for the send and receive times), publishing a steady 10,000, 30,000 and 50,000 msg/s,
 * one PUB per message spread evenly over ~1 ms ticks, for a few seconds each after a warm-up, once
 * the processes have carried 2 s of the first rate uncounted: a cold process's first phase measured
 * V8 optimising the code (p99 0.70 to 0.81 ms at 10,000 msg/s where the same processes' later
 * 10,000 phase had 0.19 to 0.43 ms, three runs).
 * Anchor, when NSQD_BIN is set: real nsqd with nsqjs's Writer and Reader in one process, at 10,000.
 * Floor, at every rate: the same bodies, ticks and processes with no NSQ, an echo server writing back
 * each tick's batch (lib/echo-server.ts). On a 2-core machine the tail is mostly time a process waits
 * for a core while the other end works, so it grows with the CPU each message costs: the floor shows
 * what is left of the goal after the machine's share.
 *
 * Default settings throughout, but for maxInFlight: both clients default to 1, a round trip per
 * message, which caps a consumer near 10,000 msg/s on this machine (the extra row at 10,000 with the
 * default shows it), so the probe asks for MAX_IN_FLIGHT on both. With that, nsqd holds messages
 * for a client that could take more until its output buffer fills (16 KB) or its output buffer
 * timeout passes (250 ms), nsqd's defaults; the bundled broker writes at the end of each event-loop
 * turn.
 *
 * Run: npm run bench latency
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Row } from './broker.ts';
import type { GoalRow } from './goals.ts';
import { startBrokerProcess } from './lib/broker-process.ts';
import { trackProcess } from './lib/children.ts';
// Type only: erased, so the probe's module (a script) is not run here.
import type { RateResult } from './lib/latency-client.ts';

const CLIENT = fileURLToPath(new URL('./lib/latency-client.ts', import.meta.url));
const ECHO_SERVER = fileURLToPath(new URL('./lib/echo-server.ts', import.meta.url));
const RATES = [10_000, 30_000, 50_000];
const SECONDS = Number(process.env.BENCH_LATENCY_S ?? 3);
const WARMUP_S = 1;
const MAX_IN_FLIGHT = 1000;
const GOAL_P99_MS = 1;


interface Server {
  tcpPort: number;
  discard(): Promise<void>;
}

/** lib/echo-server.ts in its own process, as a broker would be: the floor's other end. */
async function startEchoServer(): Promise<Server> {
  const child = spawn(process.execPath, [...process.execArgv, ECHO_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  trackProcess(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.trim());
    });
    child.once('exit', (code) => reject(new Error(`the echo server exited ${code} before listening`)));
  });
  return {
    tcpPort: Number(line),
    async discard() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs the probe process against a fresh broker (or echo server); one result per rate. */
async function probe(kind: 'bundled' | 'nsqd' | 'echo', client: 'ours' | 'nsqjs' | 'echo', rates: number[], maxInFlight?: number): Promise<RateResult[]> {
  const broker: Server = kind === 'echo' ? await startEchoServer() : await startBrokerProcess(kind);
  try {
    const args = ['--client', client, '--nsqd-tcp-address', `127.0.0.1:${broker.tcpPort}`, '--topic', 'latency', '--rates', rates.join(','), '--seconds', String(SECONDS), '--warmup-seconds', String(WARMUP_S)];
    if (maxInFlight !== undefined) args.push('--max-in-flight', String(maxInFlight));
    const child = spawn(process.execPath, [...process.execArgv, CLIENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    trackProcess(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    if (code !== 0) throw new Error(`latency client (${client} on ${kind}) exited ${code}:\n${stderr}`);
    return stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as RateResult);
  } finally {
    await broker.discard();
  }
}

export interface LatencyResult {
  rows: Row[];
  goals: GoalRow[];
}

const perSecond = (rate: number): string => `${rate.toLocaleString('en')} msg/s`;

/** "p99", or "p99 (fell behind: 12,000 of 30,000 arrived)" when the consumer did not keep up. */
function label(result: RateResult | undefined, what: string): string {
  if (result === undefined || result.received >= result.sent) return what;
  return `${what} (fell behind: ${result.received.toLocaleString('en')} of ${result.sent.toLocaleString('en')} arrived in time)`;
}

export async function latencyBenchmarks(): Promise<LatencyResult> {
  const ours = await probe('bundled', 'ours', RATES, MAX_IN_FLIGHT);
  const oursDefault = (await probe('bundled', 'ours', [10_000]))[0];
  const anchor = process.env.NSQD_BIN ? (await probe('nsqd', 'nsqjs', [10_000], MAX_IN_FLIGHT))[0] : undefined;
  const floor = await probe('echo', 'echo', RATES);
  const at = (rate: number): RateResult | undefined => ours.find((each) => each.rate === rate);
  const floorAt = (rate: number): RateResult | undefined => floor.find((each) => each.rate === rate);
  const rows: Row[] = [];
  for (const result of ours) {
    const peer = result.rate === 10_000 && anchor !== undefined ? anchor : undefined;
    const echoed = floorAt(result.rate);
    for (const key of ['p50Ms', 'p99Ms'] as const) {
      const values: Record<string, number> = { 'nsqworker Producer + Consumer': result[key] };
      if (peer !== undefined) values['nsqd + nsqjs'] = peer[key];
      if (echoed !== undefined) values['floor: TCP echo, no NSQ'] = echoed[key];
      const metric = label(result, `${key.slice(0, 3)} at ${perSecond(result.rate)}, maxInFlight ${MAX_IN_FLIGHT}`);
      rows.push({ metric, unit: 'ms', higherIsBetter: false, values });
    }
  }
  if (oursDefault !== undefined) {
    const metric = label(oursDefault, `p99 at ${perSecond(oursDefault.rate)}, default maxInFlight (1)`);
    rows.push({ metric, unit: 'ms', higherIsBetter: false, values: { 'nsqworker Producer + Consumer': oursDefault.p99Ms } });
  }
  const milliseconds = (value: number): string => (value < 10 ? value.toFixed(2) : Math.round(value).toLocaleString('en'));
  const floorText = (rate: number): string => {
    const echoed = floorAt(rate);
    return echoed === undefined ? '' : `; the machine's floor, a TCP echo: p99 ${milliseconds(echoed.p99Ms)} ms`;
  };
  const goal = (rate: number, withAnchor: boolean): GoalRow[] => {
    const result = at(rate);
    if (result === undefined) return [];
    return [
      {
        metric: label(result, `end-to-end latency p99 at ${perSecond(rate)} (p50 ${milliseconds(result.p50Ms)} ms${floorText(rate)}), broker in its own process, Producer + Consumer in another`),
        unit: 'ms',
        ours: result.p99Ms,
        ...(withAnchor && anchor !== undefined ? { anchor: { name: 'nsqd + nsqjs', value: anchor.p99Ms } } : {}),
        goal: { kind: 'at-most', value: GOAL_P99_MS },
      },
    ];
  };
  return { rows, goals: [...goal(50_000, false), ...goal(10_000, true)] };
}
