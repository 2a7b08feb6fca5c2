/**
 * A separate process that holds many idle consumer connections on a broker, so the broker's file
 * descriptors, not the bench's, are the limit: `tsx connection-holder.ts <port> <count>
 * <heartbeatMs>`. Each connection sends the magic, IDENTIFY (with the heartbeat interval), SUB to
 * `scale_idle` on one of 100 channels, and answers every heartbeat with NOP. Prints
 * `{"subscribed":n,"failed":m}` once every connection has either subscribed or failed, then holds
 * them until killed.
 */
import { connect } from 'node:net';
import { MAGIC_V2, NOP, encodeIdentify, encodeSub } from '../../protocol/commands.ts';
import { FrameDecoder, FrameType } from '../../protocol/frames.ts';

const [port, count, heartbeatMs] = process.argv.slice(2).map(Number) as [number, number, number];
let subscribed = 0;
let failed = 0;
let opened = 0;
const CONCURRENT_OPENS = 200;

function report(): void {
  if (subscribed + failed === count) process.stdout.write(`${JSON.stringify({ subscribed, failed })}\n`);
}

function open(index: number): void {
  const socket = connect({ host: '127.0.0.1', port });
  let answers = 0;
  let done = false;
  const finish = (ok: boolean): void => {
    if (done) return;
    done = true;
    if (ok) subscribed++;
    else failed++;
    report();
    if (opened < count) open(opened++);
  };
  const decoder = new FrameDecoder((type, data) => {
    if (type === FrameType.Response && data.toString() === '_heartbeat_') return void socket.write(NOP);
    if (type !== FrameType.Response) return finish(false);
    // IDENTIFY's OK, then SUB's OK.
    if (++answers === 2) finish(true);
  });
  socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  socket.on('error', () => finish(false));
  socket.on('close', () => finish(false));
  socket.write(Buffer.concat([MAGIC_V2, encodeIdentify({ heartbeat_interval: heartbeatMs }), encodeSub('scale_idle', `c${index % 100}`)]));
}

for (; opened < Math.min(CONCURRENT_OPENS, count); ) open(opened++);
setInterval(() => {}, 1 << 30);
