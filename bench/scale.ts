/**
 * `npm run bench scale` (only when named: long, and the deep backlog takes gigabytes of disk). The
 * bundled broker as users run it (the compiled bin), beside real nsqd when NSQD_BIN is set:
 *
 * - connections: publish and consume throughput with no idle client, then with BENCH_SCALE_CONNS
 *   (10,000) IDENTIFY'd, subscribed, heartbeating (BENCH_SCALE_HEARTBEAT_MS, 30 s) connections held
 *   by a separate process; each rate the median of BENCH_SCALE_SAMPLES (1) runs, for noisy machines;
 *   RSS per idle connection and the broker's CPU while they heartbeat (over BENCH_SCALE_IDLE_S, 5);
 * - topics: 1,000 topics x 3 channels with traffic on all; /stats latency and size, RSS, clean-stop
 *   and startup time with all of them persisted;
 * - backlog: BENCH_SCALE_BACKLOG (10,000,000) messages of 200 B on disk; publish and consume rate per
 *   tenth of the backlog (flat means no slowdown with depth), peak RSS, restart time;
 * - soak: BENCH_SCALE_SOAK_S (600) seconds of steady mixed load; RSS and /ping round trip (the
 *   broker's event-loop lag as a client sees it) over time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row } from './broker.ts';
import { startBrokerProcess, type BrokerProcess } from './lib/broker-process.ts';
import { consumeLoad, openSocket, publishLoad } from './lib/raw-load.ts';
import { encodeMpub, encodePub } from '../protocol/commands.ts';
import { startServer, type Server } from './lib/scale-server.ts';

const CONNS = Number(process.env.BENCH_SCALE_CONNS ?? 10_000);
const BACKLOG = Number(process.env.BENCH_SCALE_BACKLOG ?? 10_000_000);
const SOAK_S = Number(process.env.BENCH_SCALE_SOAK_S ?? 600);
/** The idle connections' negotiated heartbeat interval: nsqd's default 30 s, or 1,000 (its minimum) to stress it. */
const HEARTBEAT_MS = Number(process.env.BENCH_SCALE_HEARTBEAT_MS ?? 30_000);
const SAMPLES = Number(process.env.BENCH_SCALE_SAMPLES ?? 1);
/**
 * How long the broker's CPU is measured while the idle connections heartbeat: by default one whole
 * heartbeat interval (at least 5 s), so that every connection's heartbeat falls inside it.
 */
const IDLE_MS = Number(process.env.BENCH_SCALE_IDLE_S ?? Math.max(5, HEARTBEAT_MS / 1000)) * 1000;
const HOLDER = fileURLToPath(new URL('./lib/connection-holder.ts', import.meta.url));
const body = Buffer.alloc(200, 0x62);
const MB = 1024 * 1024;
const progress = (line: string): void => void process.stderr.write(`[scale] ${line}\n`);

/** The broker's CPU seconds so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function post(port: number, path: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST' });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
}

/** Publish (200,000 pipelined PUBs) and consume (that backlog, RDY 2500) rates on fresh topics. */
async function throughput(broker: BrokerProcess, tag: string): Promise<{ pub: number; sub: number }> {
  const topic = `scale_tp_${tag}`;
  await post(broker.httpPort, `/topic/create?topic=${topic}`);
  await post(broker.httpPort, `/channel/create?topic=${topic}&channel=drain`);
  const total = 200_000;
  const pubMs = await publishLoad(broker.tcpPort, topic, body, total, 1, 512);
  const { elapsedMs, stop } = await consumeLoad(broker.tcpPort, topic, 'drain', total, 2500);
  stop();
  return { pub: (total / pubMs) * 1000, sub: (total / elapsedMs) * 1000 };
}

/** The median publish and consume rates of SAMPLES runs. */
async function medianThroughput(broker: BrokerProcess, tag: string): Promise<{ pub: number; sub: number }> {
  const runs: Array<{ pub: number; sub: number }> = [];
  for (let i = 0; i < SAMPLES; i++) runs.push(await throughput(broker, `${tag}${i}`));
  const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { pub: median(runs.map((run) => run.pub)), sub: median(runs.map((run) => run.sub)) };
}

/** Clients subscribed to the idle connections' topic, from /stats. */
async function idleClients(port: number): Promise<number> {
  const stats = (await (await fetch(`http://127.0.0.1:${port}/stats?format=json&topic=scale_idle`)).json()) as {
    topics: Array<{ topic_name: string; channels: Array<{ client_count: number }> }>;
  };
  const topic = stats.topics.find((t) => t.topic_name === 'scale_idle');
  return topic?.channels.reduce((sum, channel) => sum + channel.client_count, 0) ?? 0;
}

async function connections(kind: 'bundled' | 'nsqd'): Promise<Record<string, number>> {
  const broker = await startBrokerProcess(kind);
  try {
    const before = await medianThroughput(broker, 'before');
    const rssBefore = broker.rssBytes();
    const holder = spawn(process.execPath, ['--import', 'tsx', HOLDER, String(broker.tcpPort), String(CONNS), String(HEARTBEAT_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const ready = await new Promise<{ subscribed: number; failed: number }>((resolve, reject) => {
      holder.stdout!.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as { subscribed: number; failed: number }));
      holder.once('exit', (code) => reject(new Error(`connection holder exited with ${code}`)));
    });
    try {
      const rssHeld = broker.rssBytes();
      const cpu0 = cpuSeconds(broker.pid);
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      const heartbeatCpu = (cpuSeconds(broker.pid) - cpu0) / (IDLE_MS / 1000);
      // A holder too starved to answer in time loses connections to the read deadline, and the CPU
      // figure then covers fewer of them: count who is left.
      const open = await idleClients(broker.httpPort);
      const after = await medianThroughput(broker, 'after');
      return {
        subscribed: ready.subscribed,
        failed: ready.failed,
        pubBefore: before.pub,
        pubAfter: after.pub,
        subBefore: before.sub,
        subAfter: after.sub,
        kbPerConnection: (rssHeld - rssBefore) / 1024 / Math.max(1, ready.subscribed),
        heartbeatCpuPercent: heartbeatCpu * 100,
        stillOpen: open,
      };
    } finally {
      holder.kill('SIGKILL');
    }
  } finally {
    await broker.stop();
  }
}

async function topics(kind: 'bundled' | 'nsqd'): Promise<Record<string, number>> {
  const dataPath = mkdtempSync(join(tmpdir(), 'bench-scale-topics-'));
  let server: Server = await startServer(kind, dataPath);
  try {
    const names = Array.from({ length: 1000 }, (_, i) => `scale_t${i}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map(async (topic) => {
          await post(server.httpPort, `/topic/create?topic=${topic}`);
          for (const channel of ['a', 'b', 'c']) await post(server.httpPort, `/channel/create?topic=${topic}&channel=${channel}`);
        }),
      );
    }
    progress('topics: 1,000 topics x 3 channels created');
    // Traffic on all: 10 messages per topic, drained by one consumer per channel.
    const producer = await openSocket(server.tcpPort);
    for (const topic of names) producer.write(encodeMpub(topic, Array.from({ length: 10 }, () => body)));
    // A hundred consumers at a time: thousands of simultaneous connects overflow the listen backlog.
    const pairs = names.flatMap((topic) => ['a', 'b', 'c'].map((channel) => [topic, channel] as const));
    for (let i = 0; i < pairs.length; i += 100) {
      const drains = await Promise.all(pairs.slice(i, i + 100).map(([topic, channel]) => consumeLoad(server.tcpPort, topic, channel, 10, 100)));
      for (const drain of drains) drain.stop();
    }
    producer.destroy();
    progress('topics: traffic on all channels done');
    const samples: number[] = [];
    let size = 0;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/stats?format=json`)).text();
      samples.push(performance.now() - started);
      size = text.length;
    }
    samples.sort((a, b) => a - b);
    const rss = server.rssBytes();
    const stopMs = await server.stop();
    const startedAt = performance.now();
    server = await startServer(kind, dataPath);
    const startMs = performance.now() - startedAt;
    const stats = (await (await fetch(`http://127.0.0.1:${server.httpPort}/stats?format=json`)).json()) as { topics: unknown[] };
    return { statsMs: samples[2]!, statsKb: size / 1024, rssMb: rss / MB, stopMs, startMs, topicsAfterRestart: stats.topics.length };
  } finally {
    await server.stop();
    rmSync(dataPath, { recursive: true, force: true });
  }
}

async function backlog(kind: 'bundled' | 'nsqd'): Promise<Record<string, number>> {
  const dataPath = mkdtempSync(join(tmpdir(), 'bench-scale-backlog-'));
  let server = await startServer(kind, dataPath);
  try {
    await post(server.httpPort, '/topic/create?topic=scale_deep');
    await post(server.httpPort, '/channel/create?topic=scale_deep&channel=c');
    const tenth = Math.floor(BACKLOG / 10);
    const pubRates: number[] = [];
    for (let i = 0; i < 10; i++) pubRates.push((tenth / (await publishLoad(server.tcpPort, 'scale_deep', body, tenth, 200, 16))) * 1000);
    const peakPublish = server.peakRssBytes();
    await server.stop();
    const startedAt = performance.now();
    server = await startServer(kind, dataPath);
    const restartMs = performance.now() - startedAt;
    const subRates: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { elapsedMs, stop } = await consumeLoad(server.tcpPort, 'scale_deep', 'c', tenth, 2500);
      stop();
      subRates.push((tenth / elapsedMs) * 1000);
    }
    const result: Record<string, number> = { restartMs, peakRssPublishMb: peakPublish / MB, peakRssConsumeMb: server.peakRssBytes() / MB };
    pubRates.forEach((rate, i) => (result[`pub${i + 1}`] = rate));
    subRates.forEach((rate, i) => (result[`sub${i + 1}`] = rate));
    return result;
  } finally {
    await server.stop();
    rmSync(dataPath, { recursive: true, force: true });
  }
}

async function soak(kind: 'bundled' | 'nsqd'): Promise<string[]> {
  const broker = await startBrokerProcess(kind);
  const lines: string[] = [];
  try {
    await post(broker.httpPort, '/topic/create?topic=scale_soak');
    await post(broker.httpPort, '/channel/create?topic=scale_soak&channel=c');
    const consumer = consumeLoad(broker.tcpPort, 'scale_soak', 'c', Number.MAX_SAFE_INTEGER, 500);
    const producer = await openSocket(broker.tcpPort);
    producer.on('data', () => {});
    const pub = encodePub('scale_soak', body);
    const mpub = encodeMpub('scale_soak', Array.from({ length: 50 }, () => body));
    // Steady: 50 PUBs and one MPUB of 50 every 10 ms, 10,000 msg/s.
    const load = setInterval(() => {
      for (let i = 0; i < 50; i++) producer.write(pub);
      producer.write(mpub);
    }, 10);
    const endAt = Date.now() + SOAK_S * 1000;
    const every = Math.max(5, Math.round(SOAK_S / 20)) * 1000;
    while (Date.now() < endAt) {
      let worstPing = 0;
      const sliceEnd = Math.min(endAt, Date.now() + every);
      while (Date.now() < sliceEnd) {
        const started = performance.now();
        await fetch(`http://127.0.0.1:${broker.httpPort}/ping`);
        worstPing = Math.max(worstPing, performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      lines.push(`${kind} t=${Math.round((SOAK_S * 1000 - (endAt - Date.now())) / 1000)}s rss=${(broker.rssBytes() / MB).toFixed(1)}MB worst /ping=${worstPing.toFixed(1)}ms`);
      console.log(lines[lines.length - 1]);
    }
    clearInterval(load);
    producer.destroy();
    void consumer.then(({ stop }) => stop());
  } finally {
    await broker.stop();
  }
  return lines;
}

const kinds = (): Array<'bundled' | 'nsqd'> => (process.env.NSQD_BIN === undefined ? ['bundled'] : ['bundled', 'nsqd']);
const peer = (kind: 'bundled' | 'nsqd'): string => (kind === 'bundled' ? 'nsqworker' : 'nsqd');

/** Runs the parts named in BENCH_SCALE_PARTS (default all: connections,topics,backlog,soak). */
export async function scaleBenchmarks(): Promise<{ rows: Row[]; soak: string[] }> {
  const parts = (process.env.BENCH_SCALE_PARTS ?? 'connections,topics,backlog,soak').split(',');
  const rows = new Map<string, Row>();
  const put = (metric: string, unit: string, higherIsBetter: boolean, kind: 'bundled' | 'nsqd', value: number): void => {
    const row = rows.get(metric) ?? { metric, unit, higherIsBetter, values: {} };
    row.values[peer(kind)] = value;
    rows.set(metric, row);
  };
  const soakLines: string[] = [];
  for (const kind of kinds()) {
    if (parts.includes('connections')) {
      const c = await connections(kind);
      put(`idle connections subscribed (of ${CONNS})`, 'messages', true, kind, c.subscribed!);
      put('PUB rate, no idle connection', 'msg/s', true, kind, c.pubBefore!);
      put(`PUB rate, ${CONNS} idle connections`, 'msg/s', true, kind, c.pubAfter!);
      put('consume rate, no idle connection', 'msg/s', true, kind, c.subBefore!);
      put(`consume rate, ${CONNS} idle connections`, 'msg/s', true, kind, c.subAfter!);
      put('RSS per idle connection', 'KB', false, kind, c.kbPerConnection!);
      put(`CPU while ${CONNS} connections heartbeat every ${HEARTBEAT_MS / 1000} s`, '%', false, kind, c.heartbeatCpuPercent!);
      put('idle connections still open after the heartbeat window', 'messages', true, kind, c.stillOpen!);
    }
    if (parts.includes('topics')) {
      const t = await topics(kind);
      put('1,000 topics x 3: /stats (median of 5)', 'ms', false, kind, t.statsMs!);
      put('1,000 topics x 3: /stats size', 'KB', false, kind, t.statsKb!);
      put('1,000 topics x 3: RSS', 'MB', false, kind, t.rssMb!);
      put('1,000 topics x 3: clean stop', 'ms', false, kind, t.stopMs!);
      put('1,000 topics x 3: start (all persisted)', 'ms', false, kind, t.startMs!);
    }
    if (parts.includes('backlog')) {
      const b = await backlog(kind);
      for (let i = 1; i <= 10; i++) put(`backlog ${BACKLOG.toLocaleString('en')}: publish, tenth ${i}`, 'msg/s', true, kind, b[`pub${i}`]!);
      for (let i = 1; i <= 10; i++) put(`backlog: consume, tenth ${i}`, 'msg/s', true, kind, b[`sub${i}`]!);
      put('backlog: peak RSS publishing', 'MB', false, kind, b.peakRssPublishMb!);
      put('backlog: peak RSS consuming', 'MB', false, kind, b.peakRssConsumeMb!);
      put('backlog: restart', 'ms', false, kind, b.restartMs!);
    }
    if (parts.includes('soak')) soakLines.push(...(await soak(kind)));
  }
  return { rows: [...rows.values()], soak: soakLines };
}
