/**
 * Sync mode publish rate (`--mem-queue-size=0 --sync-every=1`, every OK means fsynced): PUBs from
 * 1 connection one at a time (latency-bound: one fsync per message at best), from 8 connections
 * with 32 PUBs each in flight, and MPUBs of 100 from 8 connections with 4 in flight. Each load runs
 * for a fixed time and counts the OKs. With group commit the fsyncs of a turn are shared, so the
 * concurrent loads scale; with one fsync per put they cannot.
 */
import { startBrokerProcess } from './lib/broker-process.ts';
import { openSocket } from './lib/raw-load.ts';
import type { Row } from './broker.ts';
import { encodeMpub, encodePub } from '../protocol/commands.ts';
import { FrameDecoder, FrameType } from '../protocol/frames.ts';

const RUN_MS = Number(process.env.BENCH_SYNC_MS ?? 3000);
const body = Buffer.alloc(200, 0x61);

/** `connections` sockets each keep `window` commands in flight for RUN_MS; resolves with messages acked per second. */
async function load(port: number, topic: string, connections: number, window: number, perCommand: number): Promise<number> {
  const command = perCommand === 1 ? encodePub(topic, body) : encodeMpub(topic, Array.from({ length: perCommand }, () => body));
  let acked = 0;
  const deadline = performance.now() + RUN_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const socket = await openSocket(port);
      let inFlight = 0;
      await new Promise<void>((resolve) => {
        const fill = (): void => {
          while (inFlight < window && performance.now() < deadline) {
            socket.write(command);
            inFlight++;
          }
          if (inFlight === 0) resolve();
        };
        const decoder = new FrameDecoder((type, data) => {
          if (type !== FrameType.Response) throw new Error(`broker error: ${data.toString()}`);
          if (data.toString() === '_heartbeat_') return;
          inFlight--;
          acked += perCommand;
          fill();
        });
        socket.on('data', (chunk: Buffer) => decoder.push(chunk));
        fill();
      });
      socket.destroy();
    }),
  );
  return (acked / (performance.now() - started)) * 1000;
}

export async function syncBenchmarks(): Promise<Row[]> {
  const broker = await startBrokerProcess('bundled', ['--mem-queue-size=0', '--sync-every=1']);
  try {
    const rows: Row[] = [];
    const add = (metric: string, value: number): void => {
      rows.push({ metric, unit: 'msg/s', higherIsBetter: true, values: { nsqworker: value } });
    };
    add('sync PUB, 1 connection, 1 in flight', await load(broker.tcpPort, 'sync_one', 1, 1, 1));
    add('sync PUB, 8 connections x 32 in flight', await load(broker.tcpPort, 'sync_many', 8, 32, 1));
    add('sync MPUB x100, 8 connections x 4 in flight', await load(broker.tcpPort, 'sync_mpub', 8, 4, 100));
    return rows;
  } finally {
    await broker.stop();
  }
}
