/**
 * Stand-ins for nsq's Go `bench_writer` and `bench_reader`, for when their binaries are not
 * available: the same flags, the same load shapes and the same closing line, so
 * nsq-bench-tools.ts runs and parses either the same way.
 *
 * - writer: one connection per core (bench_writer's GOMAXPROCS goroutines), each sending MPUB of
 *   `--batch-size` bodies of `--size` bytes and waiting for its OK before the next, for `--runfor`;
 * - reader: one connection per core, each SUB and RDY `--rdy`, a FIN for every message (written
 *   per chunk received, as bench_reader's buffered writer does), for `--runfor`.
 *
 * Both print `[bench_writer] duration: 3.0s - 55.2mb/s - 289000.000ops/s - 3.460us/op` (or
 * bench_reader) on stderr. Unlike the Go tools, all connections share one thread here.
 *
 * Run: tsx bench/lib/raw-bench-tool.ts writer|reader --nsqd-tcp-address=127.0.0.1:4150 [--topic=sub_bench]
 *   [--channel=ch] [--size=200] [--batch-size=200] [--rdy=2500] [--runfor=10s]
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { encodeIdentify, encodeMpub, encodeRdy, encodeSub } from '../../protocol/commands.ts';
import { attachDecoder, openSocket } from './raw-load.ts';

function seconds(duration: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(duration);
  if (match === null) throw new Error(`--runfor: not a duration: ${duration}`);
  return Number(match[1]) * (match[2] === 'ms' ? 0.001 : match[2] === 'm' ? 60 : 1);
}

function hostPort(address: string): number {
  const colon = address.lastIndexOf(':');
  if (address.slice(0, colon) !== '127.0.0.1') throw new Error('the benchmark only talks to 127.0.0.1');
  return Number(address.slice(colon + 1));
}

interface Counted {
  messages: number;
  /** From the start of the load (connections made) to its end, as the Go tools time it. */
  durationS: number;
}

async function writer(port: number, topic: string, size: number, batchSize: number, runforS: number): Promise<Counted> {
  const command = encodeMpub(topic, Array.from({ length: batchSize }, () => Buffer.alloc(size, 0x61)));
  const sockets = await Promise.all(Array.from({ length: availableParallelism() }, () => openSocket(port)));
  for (const socket of sockets) socket.write(encodeIdentify({ client_id: 'writer', hostname: 'writer', user_agent: 'raw-bench-tool' }));
  let messages = 0;
  const started = performance.now();
  const endAt = started + runforS * 1000;
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          let identified = false;
          attachDecoder(socket, () => {
            // The first OK answers IDENTIFY; every later one an MPUB.
            if (identified) messages += batchSize;
            identified = true;
            if (performance.now() >= endAt) resolve();
            else socket.write(command);
          });
        }),
    ),
  );
  const durationS = (performance.now() - started) / 1000;
  for (const socket of sockets) socket.destroy();
  return { messages, durationS };
}

async function reader(port: number, topic: string, channel: string, rdy: number, runforS: number): Promise<Counted> {
  const sockets = await Promise.all(Array.from({ length: availableParallelism() }, () => openSocket(port)));
  let messages = 0;
  const started = performance.now();
  for (const socket of sockets) {
    let fins: Buffer[] = [];
    const flush = (): void => {
      if (fins.length > 0) socket.write(Buffer.concat(fins));
      fins = [];
    };
    attachDecoder(
      socket,
      () => {},
      (payload) => {
        messages++;
        const fin = Buffer.allocUnsafe(21);
        fin.write('FIN ', 0, 'latin1');
        payload.copy(fin, 4, 10, 26);
        fin[20] = 0x0a;
        fins.push(fin);
      },
    );
    // The decoder's listener ran first: by now every message of the chunk has its FIN waiting.
    socket.on('data', flush);
    socket.write(encodeIdentify({ client_id: 'reader', hostname: 'reader', user_agent: 'raw-bench-tool' }));
    socket.write(encodeSub(topic, channel));
    socket.write(encodeRdy(rdy));
  }
  await new Promise((resolve) => setTimeout(resolve, runforS * 1000));
  const counted = { messages, durationS: (performance.now() - started) / 1000 };
  for (const socket of sockets) socket.destroy();
  return counted;
}

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role !== 'writer' && role !== 'reader') throw new Error('usage: raw-bench-tool.ts writer|reader --nsqd-tcp-address=...');
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: {
      'nsqd-tcp-address': { type: 'string', default: '127.0.0.1:4150' },
      topic: { type: 'string', default: 'sub_bench' },
      channel: { type: 'string', default: 'ch' },
      size: { type: 'string', default: '200' },
      'batch-size': { type: 'string', default: '200' },
      rdy: { type: 'string', default: '2500' },
      runfor: { type: 'string', default: '10s' },
    },
  });
  const port = hostPort(values['nsqd-tcp-address']);
  const runforS = seconds(values.runfor);
  const size = Number(values.size);
  const { messages, durationS } =
    role === 'writer'
      ? await writer(port, values.topic, size, Number(values['batch-size']), runforS)
      : await reader(port, values.topic, values.channel, Number(values.rdy), runforS);
  const mbPerS = (messages * size) / durationS / 1024 / 1024;
  const line = `duration: ${durationS.toFixed(3)}s - ${mbPerS.toFixed(3)}mb/s - ${(messages / durationS).toFixed(3)}ops/s - ${((durationS * 1e6) / messages).toFixed(3)}us/op`;
  process.stderr.write(`[bench_${role}] ${line}\n`);
}

await main();
