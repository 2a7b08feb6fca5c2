/**
 * A scripted nsqd peer for client edge cases that a real broker will not produce on demand (an
 * old server's bare OK, a silent server, garbage, an unknown frame type). Not a broker: each test
 * writes exactly what the server says.
 */
import net from 'node:net';
import { CommandParser, type Command } from '../../protocol/command-parser.ts';
import { FrameType, encodeFrame } from '../../protocol/frames.ts';
import { nsqdIdentifyAnswer } from './nsqd-answers.ts';

export interface PeerClient {
  socket: net.Socket;
  magic: Buffer;
  commands: Command[];
  /** Resolves with the next command named `name` (already received or yet to come). */
  next(name: string): Promise<Command>;
  respond(text: string): void;
  error(text: string): void;
  frame(type: number, data: Buffer | string): void;
}

export interface ScriptedPeer {
  address: string;
  clients: PeerClient[];
  /** Resolves with the next client to connect. */
  accepted(): Promise<PeerClient>;
  close(): Promise<void>;
}

const BODY_LIMITS = new Map([
  ['IDENTIFY', 1 << 20],
  ['AUTH', 1 << 20],
  ['PUB', 1 << 20],
  ['DPUB', 1 << 20],
  ['MPUB', 5 << 20],
]);

export async function startScriptedPeer(onClient?: (client: PeerClient) => void): Promise<ScriptedPeer> {
  const clients: PeerClient[] = [];
  const acceptWaiters: ((client: PeerClient) => void)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const waiters: { name: string; resolve: (c: Command) => void }[] = [];
    const seen: Command[] = [];
    let magic = Buffer.alloc(0);
    const parser = new CommandParser({ bodyLimits: BODY_LIMITS }, (command) => {
      const copy = { ...command, body: command.body === undefined ? undefined : Buffer.from(command.body) };
      client.commands.push(copy);
      const index = waiters.findIndex((w) => w.name === copy.name);
      if (index >= 0) waiters.splice(index, 1)[0]!.resolve(copy);
      else seen.push(copy);
    });
    const client: PeerClient = {
      socket,
      get magic() {
        return magic;
      },
      commands: [],
      next(name) {
        const index = seen.findIndex((c) => c.name === name);
        if (index >= 0) return Promise.resolve(seen.splice(index, 1)[0]!);
        return new Promise((resolve) => waiters.push({ name, resolve }));
      },
      respond: (text) => socket.write(encodeFrame(FrameType.Response, text)),
      error: (text) => socket.write(encodeFrame(FrameType.Error, text)),
      frame: (type, data) => socket.write(encodeFrame(type as 0, data)),
    };
    socket.on('data', (chunk: Buffer) => {
      if (magic.length < 4) {
        const need = 4 - magic.length;
        magic = Buffer.concat([magic, chunk.subarray(0, need)]);
        chunk = chunk.subarray(need);
      }
      if (chunk.length > 0) parser.push(chunk);
    });
    clients.push(client);
    onClient?.(client);
    const waiter = acceptWaiters.shift();
    waiter?.(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  let delivered = 0;
  return {
    address: `127.0.0.1:${port}`,
    clients,
    accepted() {
      if (delivered < clients.length) return Promise.resolve(clients[delivered++]!);
      return new Promise((resolve) =>
        acceptWaiters.push((client) => {
          delivered++;
          resolve(client);
        }),
      );
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** nsqd's negotiated IDENTIFY answer, with overrides. */
export const identifyResponse = nsqdIdentifyAnswer;
