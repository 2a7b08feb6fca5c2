/** Test helpers for the bundled nsqlookupd: a raw V1 client, HTTP calls, and polling with a deadline. */
import { connect, type Socket } from 'node:net';
import { MAGIC_V1 } from '../../protocol/commands.ts';
import { SizedPayloadDecoder } from '../../protocol/frames.ts';

/** A raw protocol V1 connection that records every `[size][data]` reply and whether it closed. */
export class V1Client {
  readonly replies: string[] = [];
  closed = false;
  private readonly decoder = new SizedPayloadDecoder((payload) => {
    this.replies.push(payload.toString('utf8'));
    this.wake();
  });
  private waiters: Array<() => void> = [];
  private consumed = 0;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Connects; with `magic` (the default) sends `"  V1"` first. */
  static async connect(port: number, magic = true): Promise<V1Client> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new V1Client(socket);
    if (magic) socket.write(MAGIC_V1);
    return client;
  }

  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** The next reply not yet returned. Rejects if the connection closes first or on timeout. */
  async reply(timeoutMs = 5000): Promise<string> {
    await this.until(() => this.replies.length > this.consumed || this.closed, timeoutMs);
    if (this.replies.length > this.consumed) return this.replies[this.consumed++]!;
    throw new Error('connection closed before a reply');
  }

  /** Sends a command line and returns its reply. */
  async command(line: string): Promise<string> {
    this.write(`${line}\n`);
    return this.reply();
  }

  /** Sends IDENTIFY with a JSON body and returns the reply. */
  async identify(body: unknown = identityBody()): Promise<string> {
    this.write(identifyFrame(Buffer.from(JSON.stringify(body))));
    return this.reply();
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.closed, timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private async until(condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting on a V1 connection');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** `IDENTIFY\n[size][body]` with any size word (to test bad sizes). */
export function identifyFrame(body: Buffer, size = body.length): Buffer {
  const head = Buffer.from('IDENTIFY\n');
  const sizeWord = Buffer.alloc(4);
  sizeWord.writeInt32BE(size);
  return Buffer.concat([head, sizeWord, body]);
}

/** An IDENTIFY body as nsqd sends it. */
export function identityBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    broadcast_address: 'nsqd-host',
    hostname: 'nsqd-host.local',
    http_port: 4151,
    tcp_port: 4150,
    version: '1.3.0',
    ...overrides,
  };
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

export async function http(address: string, path: string, method = 'GET'): Promise<HttpResult> {
  const response = await fetch(`http://${address}${path}`, { method, redirect: 'manual' });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Polls `probe` until it returns a value that is not undefined, or throws at the deadline. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
