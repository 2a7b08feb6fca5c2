/**
 * One round of `npm run bench publish-path`, in a process of its own so that every round starts
 * from a fresh heap: a broker (Nsqd, in-process, no sockets) with `--mem-queue-size`
 * (BENCH_PUBLISH_PATH_MEMORY, 1,000,000) and a topic with one channel; MPUB bodies of 200 × 200 B
 * (nsq's bench_writer's shape), each a fresh buffer as a socket read gives, parsed with
 * parseMpubRanges and published with Topic.publishAll, yielding to the event loop every second
 * batch as a socket's reads would. Phase one fills the channel's memory queue; phase two publishes
 * 2 × that past it, to disk. Prints one JSON line: CPU nanoseconds per message for each phase
 * (process.cpuUsage: every thread, the garbage collector's helpers and the thread pool included).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import pino from 'pino';
import { Nsqd } from '../../broker/nsqd/nsqd.ts';
import { BrokerOptionsSchema } from '../../broker/nsqd/options.ts';
import { encodeMpub, parseMpubRanges } from '../../protocol/commands.ts';

const MEMORY = Number(process.env.BENCH_PUBLISH_PATH_MEMORY ?? 1_000_000);
const BATCH = 200;

const dataPath = mkdtempSync(join(tmpdir(), 'bench-publish-path-'));
try {
  const nsqd = new Nsqd(BrokerOptionsSchema.parse({ dataPath, memQueueSize: MEMORY }), pino({ level: 'silent' }));
  const topic = nsqd.getOrCreateTopic('sub_bench');
  topic.getOrCreateChannel('ch');
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
  const memoryNsPerMessage = await phase(MEMORY);
  const diskNsPerMessage = await phase(2 * MEMORY);
  console.log(JSON.stringify({ memoryNsPerMessage, diskNsPerMessage }));
} finally {
  rmSync(dataPath, { recursive: true, force: true });
}
process.exit(0);
