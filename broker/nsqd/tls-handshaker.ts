/**
 * The server side of the TLS upgrades after IDENTIFY, one tls.Server for the whole broker: each
 * upgraded socket is handed to it as a new connection (`emit('connection')`), and its handshake
 * result is matched back by the peer's address and port. A tls.Server, unlike a hand-made server
 * TLSSocket, refuses a client certificate that does not verify and enforces the handshake deadline;
 * one shared server parses the certificate and key once, not on every upgrade (about 2 ms each).
 */
import type { Socket } from 'node:net';
import { createServer, type Server, type TlsOptions, type TLSSocket } from 'node:tls';

/** nsqd's deadline for a client's TLS handshake (`clientV2.UpgradeTLS`, `nsqd/client_v2.go`). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 5000;

interface Waiter {
  resolve(socket: TLSSocket): void;
  reject(error: Error): void;
}

const peerKey = (socket: { remoteAddress?: string; remotePort?: number }): string => `${socket.remoteAddress}|${socket.remotePort}`;

export class TlsHandshaker {
  private readonly server: Server;
  private readonly waiting = new Map<string, Waiter>();

  constructor(serverOptions: TlsOptions) {
    this.server = createServer({ ...serverOptions, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS });
    this.server.on('secureConnection', (socket: TLSSocket) => this.take(peerKey(socket))?.resolve(socket));
    this.server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      socket.destroy();
      this.take(peerKey(socket))?.reject(error);
    });
  }

  /**
   * Runs the server handshake on `raw` (whose data listeners the caller has removed). Resolves with
   * the TLS socket; rejects on a failed or stalled (5 s) handshake, or when the socket closes first.
   */
  handshake(raw: Socket): Promise<TLSSocket> {
    const key = peerKey(raw);
    return new Promise((resolve, reject) => {
      const onClose = (): void => this.take(key)?.reject(new Error('connection closed during the TLS handshake'));
      raw.once('close', onClose);
      this.waiting.set(key, {
        resolve: (socket) => {
          raw.off('close', onClose);
          resolve(socket);
        },
        reject: (error) => {
          raw.off('close', onClose);
          raw.destroy();
          reject(error);
        },
      });
      this.server.emit('connection', raw);
    });
  }

  private take(key: string): Waiter | undefined {
    const waiter = this.waiting.get(key);
    this.waiting.delete(key);
    return waiter;
  }
}
