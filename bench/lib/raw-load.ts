/**
 * Load generators that speak protocol V2 directly with the shared codec, so a benchmark measures the
 * broker and not a client library: pipelined PUB and MPUB, and a consumer that FINs in batches.
 */
import { connect, type Socket } from 'node:net';
import { MAGIC_V2, encodeIdentify, encodeMpub, encodePub, encodeRdy, encodeSub, NOP } from '../../protocol/commands.ts';
import { FrameDecoder, FrameType } from '../../protocol/frames.ts';

export async function openSocket(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(MAGIC_V2);
  return socket;
}

/** Counts response frames (OK) and hands message frames on; answers heartbeats. */
export function attachDecoder(socket: Socket, onOk: () => void, onMessage?: (data: Buffer) => void): void {
  const decoder = new FrameDecoder((type, data) => {
    if (type === FrameType.Message) onMessage?.(data);
    else if (type === FrameType.Response) {
      if (data.length === 11 && data.toString() === '_heartbeat_') socket.write(NOP);
      else onOk();
    } else throw new Error(`broker error: ${data.toString()}`);
  });
  socket.on('data', (chunk) => decoder.push(chunk));
}

/**
 * Publishes `total` bodies as MPUB batches of `batchSize` (or single PUBs when batchSize is 1) with
 * `window` commands in flight. Resolves with the elapsed milliseconds.
 */
export async function publishLoad(port: number, topic: string, body: Buffer, total: number, batchSize: number, window: number): Promise<number> {
  const socket = await openSocket(port);
  const batches = Math.ceil(total / batchSize);
  const command = batchSize === 1 ? encodePub(topic, body) : encodeMpub(topic, Array.from({ length: batchSize }, () => body));
  // Several commands per write: the kernel round trips, not the encoding, would otherwise dominate.
  const perWrite = Math.max(1, Math.min(window, Math.floor(65536 / command.length)));
  const group = Buffer.concat(Array.from({ length: perWrite }, () => command));
  let sent = 0;
  let acked = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (sent < batches && sent - acked + perWrite <= window) {
        if (batches - sent >= perWrite) {
          socket.write(group);
          sent += perWrite;
        } else {
          socket.write(command);
          sent++;
        }
      }
    };
    attachDecoder(socket, () => {
      acked++;
      if (acked === batches) resolve();
      else pump();
    });
    pump();
  });
  const elapsed = performance.now() - started;
  socket.destroy();
  return elapsed;
}

/**
 * Subscribes with `rdy` and FINs every message (FINs batched per received chunk) until `total`
 * arrived. `onMessage` sees each payload. Resolves with the elapsed milliseconds from the SUB.
 */
export async function consumeLoad(
  port: number,
  topic: string,
  channel: string,
  total: number,
  rdy: number,
  onMessage?: (payload: Buffer) => void,
): Promise<{ elapsedMs: number; stop: () => void }> {
  const socket = await openSocket(port);
  socket.write(encodeIdentify({ feature_negotiation: false, output_buffer_timeout: 25 }));
  let received = 0;
  const started = performance.now();
  let fins: Buffer[] = [];
  let flushScheduled = false;
  const flush = (): void => {
    flushScheduled = false;
    socket.write(Buffer.concat(fins));
    fins = [];
  };
  await new Promise<void>((resolve) => {
    attachDecoder(
      socket,
      () => {},
      (payload) => {
        received++;
        onMessage?.(payload);
        const fin = Buffer.allocUnsafe(21);
        fin.write('FIN ', 0, 'latin1');
        payload.copy(fin, 4, 10, 26);
        fin[20] = 0x0a;
        fins.push(fin);
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
        if (received === total) resolve();
      },
    );
    socket.write(encodeSub(topic, channel));
    socket.write(encodeRdy(rdy));
  });
  return { elapsedMs: performance.now() - started, stop: () => socket.destroy() };
}
