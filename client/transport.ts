/**
 * The byte stream under one client connection: the TCP socket, then TLS, then snappy framing or raw
 * deflate, switched on in the order nsqd's IDENTIFY answer dictates (go-nsq `conn.go` upgradeTLS,
 * upgradeSnappy, upgradeDeflate). Writes made between `cork()` and `uncork()` are compressed and
 * flushed as one batch, so a pipelined burst costs one sync flush, not one per command.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectOptions, type TLSSocket } from 'node:tls';
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../protocol/snappy-framing.ts';

export interface TransportEvents {
  /** The TCP connection is up. */
  connected(): void;
  /** The server ended its side. */
  ended(): void;
  /** Decoded bytes from the server, in order. */
  data(chunk: Buffer): void;
  /** The stream broke: TLS, a corrupt compressed stream, a socket error. */
  fail(error: Error): void;
  /** The socket (raw or TLS) closed. */
  closed(): void;
}

export class ClientTransport {
  private base: Socket;
  private tlsSocket: TLSSocket | undefined;
  private snappyDecoder: SnappyFrameDecoder | undefined;
  private snappyEncoder: SnappyFrameEncoder | undefined;
  private inflater: InflateRaw | undefined;
  private deflater: DeflateRaw | undefined;
  private corked = false;
  private corkedChunks: Buffer[] = [];
  private readonly onBaseData = (chunk: Buffer): void => this.receive(chunk);
  private coalescing = false;
  private readonly endCoalescing = (): void => {
    this.coalescing = false;
    this.uncork();
  };
  readonly raw: Socket;

  /** Dials `host:port` (TCP, no delay). */
  constructor(
    host: string,
    port: number,
    /** Most bytes one snappy read may decode to (a bound on what a bad server can make us hold). */
    private readonly maxDecodedBytes: number,
    private readonly events: TransportEvents,
  ) {
    const raw = connect({ host, port });
    raw.setNoDelay(true);
    raw.on('connect', () => events.connected());
    raw.on('data', this.onBaseData);
    raw.on('error', (error) => events.fail(error));
    raw.on('end', () => events.ended());
    raw.on('close', () => events.closed());
    this.raw = raw;
    this.base = raw;
  }

  /** Writes now, but batches every write of this tick into one system call (one compressed flush). */
  writeCoalesced(data: Buffer): void {
    if (!this.coalescing) {
      this.coalescing = true;
      this.cork();
      process.nextTick(this.endCoalescing);
    }
    this.write(data);
  }

  get tls(): boolean {
    return this.tlsSocket !== undefined;
  }

  get compression(): 'snappy' | 'deflate' | undefined {
    return this.snappyEncoder !== undefined ? 'snappy' : this.deflater !== undefined ? 'deflate' : undefined;
  }

  write(data: Buffer | string): void {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (this.deflater === undefined && this.snappyEncoder === undefined) {
      this.base.write(chunk);
      return;
    }
    if (this.corked) this.corkedChunks.push(chunk);
    else this.writeEncoded(chunk);
  }

  cork(): void {
    if (this.deflater === undefined && this.snappyEncoder === undefined) this.base.cork();
    else this.corked = true;
  }

  uncork(): void {
    if (this.deflater === undefined && this.snappyEncoder === undefined) {
      this.base.uncork();
      return;
    }
    this.corked = false;
    const chunks = this.corkedChunks;
    this.corkedChunks = [];
    if (chunks.length > 0) this.writeEncoded(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  }

  /** Half-closes after everything written (a deflate stream drains first). */
  end(): void {
    this.uncork();
    if (this.deflater === undefined) {
      this.base.end();
      return;
    }
    this.deflater.once('end', () => this.base.end());
    this.deflater.end();
  }

  destroy(): void {
    this.inflater?.destroy();
    this.deflater?.destroy();
    this.tlsSocket?.destroy();
    this.raw.destroy();
  }

  /**
   * Starts a TLS client session on the socket. Resolves once the handshake is done; rejects on a
   * handshake failure (a certificate that does not verify, a refused client certificate).
   */
  startTls(options: TlsConnectOptions): Promise<void> {
    this.raw.off('data', this.onBaseData);
    const socket = tlsConnect({ ...options, socket: this.raw });
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        socket.on('error', (error) => this.events.fail(error));
        socket.on('close', () => this.events.closed());
        this.tlsSocket = socket;
        this.base = socket;
        socket.on('data', this.onBaseData);
        resolve();
      });
    });
  }

  /**
   * Snappy both ways from now on: the next write starts with the stream identifier, and what the
   * server sends is decoded (bytes already read ahead are passed to {@link receive} by the caller).
   */
  startSnappy(): void {
    this.snappyDecoder = new SnappyFrameDecoder({ maxOutputBytes: this.maxDecodedBytes });
    this.snappyEncoder = new SnappyFrameEncoder();
  }

  /** Raw deflate both ways from now on; we compress at `level` (1-9). */
  startDeflate(level: number): void {
    const inflater = createInflateRaw();
    inflater.on('data', (chunk: Buffer) => this.events.data(chunk));
    inflater.on('error', (error) => this.events.fail(error));
    const deflater = createDeflateRaw({ level });
    deflater.on('data', (chunk: Buffer) => this.base.write(chunk));
    deflater.on('error', (error) => this.events.fail(error));
    this.inflater = inflater;
    this.deflater = deflater;
  }

  /** Each decoded piece of a snappy stream, to the protocol: made once, not per read. */
  private readonly onDecoded = (piece: Buffer): void => this.events.data(piece);

  /** Bytes from the socket (or read ahead of an upgrade), through whichever decoder is on. */
  receive(chunk: Buffer): void {
    if (this.inflater !== undefined) {
      this.inflater.write(chunk);
      return;
    }
    if (this.snappyDecoder === undefined) {
      this.events.data(chunk);
      return;
    }
    const failure = this.snappyDecoder.pushTo(chunk, this.onDecoded);
    if (failure !== undefined) this.events.fail(failure);
  }

  private writeEncoded(chunk: Buffer): void {
    if (this.deflater !== undefined) {
      this.deflater.write(chunk);
      this.deflater.flush(constants.Z_SYNC_FLUSH);
    } else {
      this.base.write(this.snappyEncoder!.encode(chunk));
    }
  }
}
