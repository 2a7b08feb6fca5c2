/**
 * The broker under nsq's own benchmark, as nsq's bench.sh runs it: a broker with
 * `--mem-queue-size=1000000` (BENCH_TOOL_MEM_QUEUE_SIZE), topic `sub_bench` and its channel `ch` created first, then
 * `bench_writer --size=200 --batch-size=200` (MPUB of 200 × 200 B, one in flight per connection,
 * a connection per core), then `bench_reader --channel=ch` (RDY 2500, FIN each) on the backlog the
 * writer built. Ours and real nsqd (NSQD_BIN) in the same run, rounds alternating between them.
 *
 * bench_reader divides what it read by its whole `--runfor`, idle time included, so it must never
 * run out of backlog (bench.sh's 10 s writer and 10 s reader do, on nsqd: it reads faster than it
 * writes). So the writer runs WRITER_S, the reader only READER_S, and before reading the backlog is
 * topped up with raw MPUBs to READER_S × READER_CEILING messages, above anything a reader drains
 * here; what is left after reading is checked, and the table says when a reader ran dry anyway.
 * nsqd accepts an MPUB into the topic and hands it to the channel later, in the topic's goroutine
 * (bench_writer's figure is the accepting): the reader starts once the topic has handed everything
 * over, so it does not race that hand-over.
 *
 * Without NSQ_BENCH_WRITER_BIN / NSQ_BENCH_READER_BIN, raw-bench-tool.ts runs the same shapes.
 * Each broker's best round counts: on a shared machine a slow round is the neighbours' doing.
 *
 * Run: npm run bench tools
 */
import type { Row } from './broker.ts';
import type { GoalRow } from './goals.ts';
import { channelCounts, createChannel, settled } from './lib/broker-stats.ts';
import { startBrokerProcess } from './lib/broker-process.ts';
import { runTool, toolLabel } from './lib/nsq-bench-tools.ts';
import { publishLoad } from './lib/raw-load.ts';

const WRITER_S = Number(process.env.BENCH_WRITER_S ?? 5);
const READER_S = Number(process.env.BENCH_READER_S ?? 2);
/** msg/s no reader reaches on this 2-core machine (bench_reader on nsqd: about 390,000). */
const READER_CEILING = 700_000;
const ROUNDS = Number(process.env.BENCH_TOOL_ROUNDS ?? 2);
/** bench.sh's; both brokers default to 10,000, past which every message goes through the disk queue. */
const MEM_QUEUE_SIZE = Number(process.env.BENCH_TOOL_MEM_QUEUE_SIZE ?? 1_000_000);
const TOPIC = 'sub_bench';
const CHANNEL = 'ch';
const body = Buffer.alloc(200, 0x61);

interface Round {
  writer: number;
  /** The writer's messages over its run plus the time until the topic had handed them all to the channel. */
  intoChannel: number;
  reader: number;
  /** Channel depth when the reader started, and messages left (waiting or in flight) when it stopped. */
  backlog: number;
  left: number;
  toppedUp: number;
}

async function round(kind: 'bundled' | 'nsqd'): Promise<Round> {
  const broker = await startBrokerProcess(kind, [`--mem-queue-size=${MEM_QUEUE_SIZE}`]);
  try {
    await createChannel(broker.httpPort, TOPIC, CHANNEL);
    const writer = await runTool('writer', { tcpPort: broker.tcpPort, topic: TOPIC, runfor: `${WRITER_S}s` });
    const writerDone = performance.now();
    let counts = await settled(broker.httpPort, TOPIC, CHANNEL);
    const intoChannel = (writer.opsPerS * writer.durationS) / (writer.durationS + (performance.now() - writerDone) / 1000);
    const wanted = READER_S * READER_CEILING;
    const toppedUp = Math.max(0, Math.ceil((wanted - counts.depth) / 200) * 200);
    if (toppedUp > 0) {
      await publishLoad(broker.tcpPort, TOPIC, body, toppedUp, 200, 16);
      counts = await settled(broker.httpPort, TOPIC, CHANNEL);
    }
    const reader = await runTool('reader', { tcpPort: broker.tcpPort, topic: TOPIC, channel: CHANNEL, runfor: `${READER_S}s` });
    const after = await channelCounts(broker.httpPort, TOPIC, CHANNEL);
    return { writer: writer.opsPerS, intoChannel, reader: reader.opsPerS, backlog: counts.depth, left: after.depth + after.inFlight, toppedUp };
  } finally {
    // Its backlog is of no use now, and nsqd writes all of it to disk on a clean stop.
    await broker.discard();
  }
}

export interface ToolsResult {
  rows: Row[];
  goals: GoalRow[];
}

export async function brokerToolBenchmarks(): Promise<ToolsResult> {
  const kinds: Array<'bundled' | 'nsqd'> = process.env.NSQD_BIN ? ['bundled', 'nsqd'] : ['bundled'];
  const rounds: Record<string, Round[]> = { bundled: [], nsqd: [] };
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) rounds[kind]!.push(await round(kind));
  }
  const best = (kind: string, key: 'writer' | 'intoChannel' | 'reader'): number | undefined =>
    rounds[kind]!.length === 0 ? undefined : Math.max(...rounds[kind]!.map((each) => each[key]));
  const least = (kind: string, key: 'backlog' | 'left' | 'toppedUp'): number | undefined =>
    rounds[kind]!.length === 0 ? undefined : Math.min(...rounds[kind]!.map((each) => each[key]));
  const values = (pick: (kind: string) => number | undefined): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const kind of kinds) {
      const value = pick(kind);
      if (value !== undefined) out[kind === 'bundled' ? 'nsqworker' : 'nsqd'] = value;
    }
    return out;
  };
  const writer = toolLabel('writer');
  const reader = toolLabel('reader');
  const ranDry = kinds.filter((kind) => rounds[kind]!.some((each) => each.left === 0));
  const rows: Row[] = [
    { metric: `${writer} --size=200 --batch-size=200 --runfor=${WRITER_S}s, broker --mem-queue-size=${MEM_QUEUE_SIZE}, best of ${ROUNDS}`, unit: 'msg/s', higherIsBetter: true, values: values((kind) => best(kind, 'writer')) },
    { metric: '  the same, counted until the channel held every message (nsqd hands them over after the OK)', unit: 'msg/s', higherIsBetter: true, values: values((kind) => best(kind, 'intoChannel')) },
    { metric: `${reader} --runfor=${READER_S}s (RDY 2500) on that backlog, best of ${ROUNDS}`, unit: 'msg/s', higherIsBetter: true, values: values((kind) => best(kind, 'reader')) },
    { metric: 'backlog when the reader started (least of the rounds)', unit: 'messages', higherIsBetter: true, values: values((kind) => least(kind, 'backlog')) },
    { metric: '  of which raw MPUBs added after the writer (least)', unit: 'messages', higherIsBetter: false, values: values((kind) => least(kind, 'toppedUp')) },
    { metric: `left when the reader stopped (least; 0 = ran dry${ranDry.length > 0 ? `: RAN DRY on ${ranDry.join(', ')}` : ''})`, unit: 'messages', higherIsBetter: true, values: values((kind) => least(kind, 'left')) },
  ];
  const goal = (metric: string, key: 'writer' | 'reader', ratio: number): GoalRow => {
    const anchor = best('nsqd', key);
    return {
      metric: `${metric}${ranDry.length > 0 && key === 'reader' ? ' (a reader RAN DRY: figure too low)' : ''}`,
      unit: 'msg/s',
      ours: best('bundled', key)!,
      ...(anchor === undefined ? {} : { anchor: { name: 'nsqd', value: anchor } }),
      goal: { kind: 'ratio-at-least', value: ratio },
    };
  };
  return {
    rows,
    goals: [goal(`broker publish, MPUB 200 × 200 B (${writer})`, 'writer', 1.5), goal(`broker consume, RDY 2500 (${reader}) on that backlog`, 'reader', 1.2)],
  };
}
