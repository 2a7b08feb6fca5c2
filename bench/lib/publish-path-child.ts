/**
 * One round of `npm run bench publish-path`, in a process of its own so that every round starts
 * from a fresh heap: a broker (Nsqd, in-process, no sockets) with `--mem-queue-size`
 * (BENCH_PUBLISH_PATH_MEMORY, 1,000,000) and a topic with one channel; MPUB bodies of 200 × 200 B
 * (nsq's bench_writer's shape), each a fresh buffer as a socket read gives, parsed with
 * parseMpubRanges and published with Topic.publishAll, yielding to the event loop every second
 * batch as a socket's reads would. Phase one fills the channel's memory queue; phase two publishes
 * 2 × that past it, to disk. Then a subscriber as nsq's bench_reader (RDY 2500, a FIN for every
 * message) takes the memory queue's messages, then as many from disk: each is written out as a
 * message frame would be (its header made, its body copied). Prints one JSON line: CPU nanoseconds
 * per message for each phase (process.cpuUsage: every thread, the garbage collector's helpers and
 * the thread pool included).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import pino from 'pino';
import type { Subscriber } from '../../broker/nsqd/channel.ts';
import { InFlightList } from '../../broker/nsqd/in-flight-list.ts';
import type { BrokerMessage } from '../../broker/nsqd/message.ts';
import { Nsqd } from '../../broker/nsqd/nsqd.ts';
import { BrokerOptionsSchema } from '../../broker/nsqd/options.ts';
import { encodeMpub, parseMpubRanges } from '../../protocol/commands.ts';
import { MESSAGE_ID_OFFSET } from '../../protocol/message.ts';
import { emptyMessageKey, parseHexId } from '../../protocol/message-id-hex.ts';

const MEMORY = Number(process.env.BENCH_PUBLISH_PATH_MEMORY ?? 1_000_000);
const BATCH = 200;
const RDY = 2500;

/** Slots for the ids sent and not yet finished: a power of two above RDY. */
const ID_SLOTS = 4096;

/**
 * bench_reader's side of a connection, without the socket: each message is written as the
 * connection writes it (OutputBuffer), and its id kept as the bytes a FIN line would carry back.
 */
class Reader implements Subscriber {
  readonly id = 1;
  readonly inFlight = new InFlightList();
  readonly msgTimeoutMs = 60_000;
  readonly sampleRate = 0;
  messageCount = 0;
  finishCount = 0;
  requeueCount = 0;
  /** The ids sent, oldest first: 16 bytes each, from slot `head` on, `pending` of them. */
  readonly ids = Buffer.allocUnsafe(16 * ID_SLOTS);
  head = 0;
  pending = 0;
  private readonly frame = Buffer.allocUnsafe(64 * 1024);
  isReady(): boolean {
    return this.inFlight.size < RDY;
  }
  sendMessage(message: BrokerMessage): void {
    message.writePayload(this.frame, 0);
    const slot = ((this.head + this.pending++) & (ID_SLOTS - 1)) * 16;
    for (let i = 0; i < 16; i++) this.ids[slot + i] = this.frame[MESSAGE_ID_OFFSET + i]!;
  }
  closeForDelete(): void {}
}

const dataPath = mkdtempSync(join(tmpdir(), 'bench-publish-path-'));
try {
  const nsqd = new Nsqd(BrokerOptionsSchema.parse({ dataPath, memQueueSize: MEMORY }), pino({ level: 'silent' }));
  const topic = nsqd.getOrCreateTopic('sub_bench');
  const channel = topic.getOrCreateChannel('ch');
  const command = encodeMpub('sub_bench', Array.from({ length: BATCH }, () => Buffer.alloc(200, 0x61)));
  const body = command.subarray(command.indexOf(0x0a) + 5); // past "MPUB sub_bench\n" and the body size
  const limits = { maxBodySize: nsqd.options.maxBodySize, maxMsgSize: nsqd.options.maxMsgSize };

  const phase = async (messages: number): Promise<number> => {
    const cpu0 = process.cpuUsage();
    for (let batch = 0; batch < messages / BATCH; batch++) {
      const frame = Buffer.from(body);
      topic.publishAll(frame, parseMpubRanges(frame, limits));
      if (batch % 2 === 1) await nextTurn();
    }
    const cpu = process.cpuUsage(cpu0);
    return ((cpu.user + cpu.system) * 1000) / messages;
  };
  const reader = new Reader();
  let finished = 0;
  const finKey = emptyMessageKey();
  const consume = async (messages: number): Promise<number> => {
    const cpu0 = process.cpuUsage();
    const goal = finished + messages;
    while (finished < goal) {
      // FIN what was sent (each FIN delivers the next), yielding as a socket's reads would.
      const batch = Math.min(reader.pending, RDY, goal - finished);
      for (let i = 0; i < batch; i++) {
        // As the FIN line's id is parsed (command-parser.ts).
        parseHexId(reader.ids, reader.head * 16, finKey);
        reader.head = (reader.head + 1) & (ID_SLOTS - 1);
        reader.pending--;
        channel.finish(reader, finKey);
      }
      finished += batch;
      await nextTurn();
    }
    const cpu = process.cpuUsage(cpu0);
    return ((cpu.user + cpu.system) * 1000) / messages;
  };
  const memoryNsPerMessage = await phase(MEMORY);
  const diskNsPerMessage = await phase(2 * MEMORY);
  channel.addSubscriber(reader);
  channel.pump();
  const consumeMemoryNsPerMessage = await consume(MEMORY);
  const consumeDiskNsPerMessage = await consume(MEMORY);
  console.log(JSON.stringify({ memoryNsPerMessage, diskNsPerMessage, consumeMemoryNsPerMessage, consumeDiskNsPerMessage }));
} finally {
  rmSync(dataPath, { recursive: true, force: true });
}
process.exit(0);
