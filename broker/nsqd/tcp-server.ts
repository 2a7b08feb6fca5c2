/**
 * The TCP front end: accepts connections, checks the four-byte protocol magic, and hands the rest of
 * the stream to a ClientConnection. A bad magic gets `E_BAD_PROTOCOL` and a close, as with nsqd.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { MAGIC_V2 } from '../../protocol/commands.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import { FrameType, encodeFrame } from '../../protocol/frames.ts';
import { ClientConnection } from './client-connection.ts';
import type { Nsqd } from './nsqd.ts';
import { PROTOCOL_V2 } from './protocol-v2.ts';
import { HeartbeatWheel } from './heartbeats.ts';

export class TcpServer {
  readonly clients = new Set<ClientConnection>();
  /** One timer for every client's heartbeats and read deadline. */
  private readonly heartbeats = new HeartbeatWheel();
  private readonly sockets = new Set<Socket>();
  readonly server: Server;
  /**
   * Connections accepted before open(): the port is bound before the broker's state is loaded (so
   * a taken port fails at once), and a client must not see the broker before its topics are back.
   * Unread, their bytes wait in the socket.
   */
  private held: Socket[] | undefined = [];

  constructor(private readonly nsqd: Nsqd) {
    // Half-open: a client that ends its side still gets the answers to what it sent (and nsqd's
    // "failed to read" error for a command it cut off); each connection closes itself at EOF.
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  /** Serves the connections held so far, and every one after. */
  open(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const socket of held) if (!socket.destroyed) this.serve(socket);
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        if (address === null || typeof address === 'string') return reject(new Error('TCP listener has no address'));
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {
      /* handled by 'close' */
    });
    if (this.held === undefined) this.serve(socket);
    else this.held.push(socket);
  }

  private serve(socket: Socket): void {
    let magic: Buffer = Buffer.alloc(0);
    // EOF before the four magic bytes: nsqd closes without a word.
    const onEndBeforeMagic = (): void => {
      socket.end();
      socket.destroySoon();
    };
    socket.on('end', onEndBeforeMagic);
    const onData = (chunk: Buffer): void => {
      magic = magic.length === 0 ? chunk : Buffer.concat([magic, chunk]);
      if (magic.length < 4) return;
      socket.off('data', onData);
      socket.off('end', onEndBeforeMagic);
      if (!magic.subarray(0, 4).equals(MAGIC_V2)) {
        socket.end(encodeFrame(FrameType.Error, ErrorCode.BadProtocol));
        socket.destroySoon();
        return;
      }
      const client = new ClientConnection(socket, this.nsqd, PROTOCOL_V2, (closed) => this.clients.delete(closed), this.heartbeats);
      this.clients.add(client);
      if (magic.length > 4) client.receive(magic.subarray(4));
    };
    socket.on('data', onData);
  }

  /** Stops accepting, and closes every connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const client of [...this.clients]) client.close();
      for (const socket of this.sockets) socket.destroy();
    });
  }
}
