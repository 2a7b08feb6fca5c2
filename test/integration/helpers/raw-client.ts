/**
 * A raw protocol V2 client for broker tests: sends exact bytes and hands back decoded frames in
 * order, so tests can check the broker byte for byte, including its error paths.
 */
import { connect, type Socket } from 'node:net';
import { MAGIC_V2, encodeIdentify, encodeSub, encodeRdy } from '../../../protocol/commands.ts';
import { FrameDecoder, FrameType } from '../../../protocol/frames.ts';
import { decodeMessagePayload, type DecodedMessage } from '../../../protocol/message.ts';

export interface ReceivedFrame {
  type: number;
  data: Buffer;
}

export class RawClient {
  private readonly frames: ReceivedFrame[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    const decoder = new FrameDecoder((type, data) => {
      this.frames.push({ type, data: Buffer.from(data) });
      this.wake();
    });
    socket.on('data', (chunk) => decoder.push(chunk));
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => {});
  }

  static async connect(address: string, { magic = true }: { magic?: boolean } = {}): Promise<RawClient> {
    const colon = address.lastIndexOf(':');
    const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    if (magic) client.send(MAGIC_V2);
    return client;
  }

  /** Connects, identifies (optionally) and subscribes with the given RDY. */
  static async subscriber(address: string, topic: string, channel: string, rdy: number, identify?: object): Promise<RawClient> {
    const client = await RawClient.connect(address);
    if (identify !== undefined) {
      client.send(encodeIdentify(identify));
      await client.nextFrame();
    }
    client.send(encodeSub(topic, channel));
    await client.expectResponse('OK');
    if (rdy > 0) client.send(encodeRdy(rdy));
    return client;
  }

  send(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** The next frame, skipping heartbeats unless asked for them. */
  async nextFrame({ timeoutMs = 5000, heartbeats = false } = {}): Promise<ReceivedFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.frames.length > 0) {
        const frame = this.frames.shift()!;
        if (!heartbeats && frame.type === FrameType.Response && frame.data.toString() === '_heartbeat_') continue;
        return frame;
      }
      if (this.closed) throw new Error('connection closed while waiting for a frame');
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async expectResponse(text: string): Promise<void> {
    const frame = await this.nextFrame();
    if (frame.type !== FrameType.Response || frame.data.toString() !== text) {
      throw new Error(`expected response ${text}, got type ${frame.type}: ${frame.data.toString()}`);
    }
  }

  async expectError(text: string): Promise<void> {
    const frame = await this.nextFrame();
    if (frame.type !== FrameType.Error || frame.data.toString() !== text) {
      throw new Error(`expected error ${text}, got type ${frame.type}: ${frame.data.toString()}`);
    }
  }

  async nextMessage(timeoutMs = 5000): Promise<DecodedMessage> {
    const frame = await this.nextFrame({ timeoutMs });
    if (frame.type !== FrameType.Message) throw new Error(`expected a message, got type ${frame.type}: ${frame.data.toString()}`);
    return decodeMessagePayload(frame.data);
  }

  /** Resolves when the broker has closed the connection. */
  waitClosed(timeoutMs = 5000): Promise<void> {
    return Promise.race([
      this.closedPromise,
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error('connection still open')), timeoutMs).unref()),
    ]);
  }

  /** Frames received and not yet read. */
  get pending(): number {
    return this.frames.length;
  }

  close(): void {
    this.socket.destroy();
  }
}
