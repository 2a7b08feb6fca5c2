/**
 * One client connection's byte transport, below its command parser and output buffer: the raw socket,
 * then optionally TLS, then snappy framing or raw deflate — the stack nsqd builds in
 * `clientV2.UpgradeTLS`, `UpgradeSnappy` and `UpgradeDeflate` (`nsqd/client_v2.go`).
 *
 * Decoded bytes go to `events.data`; a stream that cannot be decoded (a corrupt snappy chunk or
 * deflate stream, a failed handshake) goes to `events.fail`, and the connection closes without an
 * error frame, as nsqd's read loop does on a read error.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../../protocol/snappy-framing.ts';
import type { BrokerTls } from './tls-context.ts';

export interface TransportEvents {
  /** Decoded bytes, in order. */
  data(chunk: Buffer): void;
  /** The client ended its side (after every byte before the end was delivered). */
  end(): void;
  /** The stream cannot go on (bad TLS, corrupt compressed data). */
  fail(error: Error): void;
  /** The socket (raw or TLS) has closed. */
  closed(): void;
}

/** Past this many bytes waiting in the socket, a client gets no more messages until it drains. */
export const SOCKET_BACKLOG_LIMIT = 1 << 20;
/** Past the backlog limit, this many bytes of answers (responses, errors) queued stop the client being read. */
const ANSWER_BACKLOG_LIMIT = 64 << 10;

/** Why reading stops: a command still running, or answers the client has not read. */
export type InputHold = 'command' | 'backlog';

export class ClientTransport {
  private base: Socket;
  /** The TLS socket once upgraded. */
  tlsSocket: TLSSocket | undefined;
  private snappyDecoder: SnappyFrameDecoder | undefined;
  private snappyEncoder: SnappyFrameEncoder | undefined;
  private inflater: InflateRaw | undefined;
  private deflater: DeflateRaw | undefined;
  /** Why reading is paused now; it reads when there is no reason left. */
  private readonly holds = new Set<InputHold>();
  private backlogDeadline: NodeJS.Timeout | undefined;
  /** Bytes of answers queued since the socket was last under the backlog limit. */
  private answerBytes = 0;
  private readonly onBaseData = (chunk: Buffer): void => this.decode(chunk);
  private readonly onBaseEnd = (): void => {
    if (this.inflater !== undefined) this.inflater.end();
    else this.events.end();
  };

  constructor(
    readonly raw: Socket,
    private readonly events: TransportEvents,
    /** Most bytes one snappy read may decode to (the broker's max body size plus a frame's slack). */
    private readonly maxDecodedBytes: number,
  ) {
    this.base = raw;
    raw.on('data', this.onBaseData);
    raw.on('end', this.onBaseEnd);
    raw.on('close', () => this.onClosed());
  }

  private onClosed(): void {
    clearTimeout(this.backlogDeadline);
    this.inflater?.destroy();
    this.deflater?.destroy();
    this.events.closed();
  }

  get tls(): boolean {
    return this.tlsSocket !== undefined;
  }

  get snappy(): boolean {
    return this.snappyEncoder !== undefined;
  }

  get deflate(): boolean {
    return this.deflater !== undefined;
  }

  get destroyed(): boolean {
    return this.base.destroyed;
  }

  /** Counts `bytes` of an answer (a response or error frame) the client has yet to read. */
  answered(bytes: number): void {
    this.answerBytes += bytes;
  }

  /** Bytes the socket has handed to the kernel so far (written, less what still waits). */
  private get sentBytes(): number {
    return this.base.bytesWritten - this.base.writableLength;
  }

  /** Bytes accepted but not yet handed to the kernel. */
  get writableLength(): number {
    return this.base.writableLength + (this.deflater?.writableLength ?? 0);
  }

  /** Bytes from the output buffer: compressed if negotiated, then written to the socket (or TLS). */
  write(chunk: Buffer): void {
    if (this.deflater !== undefined) {
      this.deflater.write(chunk);
      // One sync flush per output batch, as nsqd flushes its flate writer with each buffer flush.
      this.deflater.flush(constants.Z_SYNC_FLUSH);
      return;
    }
    this.base.write(this.snappyEncoder === undefined ? chunk : this.snappyEncoder.encode(chunk));
  }

  /** Ends the stream after everything written so far (a deflate stream drains first), then closes the socket. */
  end(): void {
    const finish = (): void => {
      this.base.end();
      this.base.destroySoon();
    };
    if (this.deflater === undefined || this.deflater.destroyed) return finish();
    this.deflater.once('end', finish);
    this.deflater.end();
  }

  /**
   * Stops reading for `reason` until {@link resumeInput} for the same reason: a command that waits
   * (AUTH, a TLS upgrade) and answers the client does not read are independent holds.
   */
  pauseInput(reason: InputHold): void {
    if (this.holds.size === 0) {
      this.base.pause();
      this.inflater?.pause();
    }
    this.holds.add(reason);
  }

  resumeInput(reason: InputHold): void {
    if (!this.holds.delete(reason) || this.holds.size > 0) return;
    this.base.resume();
    this.inflater?.resume();
  }

  /**
   * Stops reading while the socket holds more than {@link SOCKET_BACKLOG_LIMIT} and answers have piled
   * up in it ({@link answered}), until it drains below the limit; calls `stuck` if nothing at all has
   * left within `deadlineMs` (none when ≤ 0). nsqd answers each command before it reads the next, with
   * a write deadline of one heartbeat interval (`protocolV2.Send`, nsqd/protocol_v2.go): a client that
   * sends and never reads stops being read, and is dropped, instead of filling the broker's memory.
   */
  holdInputIfAnswersBackUp(deadlineMs: number, stuck: () => void): void {
    // Only answers backing up hold reading: a consumer's message backlog stops deliveries (the
    // connection's sendMessage), and its FINs, which nsqd answers with nothing, must be read to make room.
    if (this.writableLength <= SOCKET_BACKLOG_LIMIT) this.answerBytes = 0;
    if (this.answerBytes <= ANSWER_BACKLOG_LIMIT || this.holds.has('backlog')) return;
    this.pauseInput('backlog');
    // nsqd's deadline is per write: a client that reads, however slowly, is not dropped. The
    // deadline starts again while bytes still leave; only a backlog that does not move is stuck.
    const arm = (sentBefore: number): void => {
      this.backlogDeadline = setTimeout(() => (this.sentBytes > sentBefore ? arm(this.sentBytes) : stuck()), deadlineMs);
    };
    if (deadlineMs > 0) arm(this.sentBytes);
    this.whenBacklogBelow(() => {
      clearTimeout(this.backlogDeadline);
      this.resumeInput('backlog');
    });
  }

  /**
   * Calls `listener` once at most {@link SOCKET_BACKLOG_LIMIT} bytes wait to be written: at once if so
   * now. The bytes wait in the socket or in the deflate stream before it; whichever holds more than its
   * high-water mark emits 'drain' once emptied (the other's bytes may then still be too many: checked again).
   */
  whenBacklogBelow(listener: () => void): void {
    if (this.writableLength <= SOCKET_BACKLOG_LIMIT) return listener();
    const { base, deflater } = this;
    const next = (): void => {
      base.off('drain', next);
      deflater?.off('drain', next);
      if (!base.destroyed) this.whenBacklogBelow(listener);
    };
    base.on('drain', next);
    deflater?.on('drain', next);
  }

  /**
   * Hands the socket to a TLS server session and waits for the handshake (at most 5s). Bytes already
   * read past the IDENTIFY are dropped, as nsqd's new reader drops what its old one had buffered.
   */
  upgradeTls(tls: BrokerTls): Promise<TLSSocket> {
    this.raw.off('data', this.onBaseData);
    this.raw.off('end', this.onBaseEnd);
    return tls.handshaker.handshake(this.raw).then((socket) => {
      socket.on('error', () => {
        /* 'close' follows */
      });
      const peer = socket.getPeerCertificate();
      if (tls.requestCert && (peer === null || Object.keys(peer).length === 0)) {
        socket.destroy();
        throw new Error("tls: client didn't provide a certificate");
      }
      this.tlsSocket = socket;
      this.base = socket;
      socket.on('data', this.onBaseData);
      socket.on('end', this.onBaseEnd);
      socket.on('close', () => this.onClosed());
      return socket;
    });
  }

  /** Snappy framing both ways from now on; the next write starts with the stream identifier. */
  upgradeSnappy(): void {
    this.snappyDecoder = new SnappyFrameDecoder({ maxOutputBytes: this.maxDecodedBytes });
    this.snappyEncoder = new SnappyFrameEncoder();
  }

  /** Raw deflate both ways from now on; the broker compresses at `level` (1-9). */
  upgradeDeflate(level: number): void {
    const inflater = createInflateRaw();
    inflater.on('data', (chunk: Buffer) => this.events.data(chunk));
    inflater.on('end', () => this.events.end());
    inflater.on('error', (error) => this.events.fail(error));
    const deflater = createDeflateRaw({ level });
    deflater.on('data', (chunk: Buffer) => this.base.write(chunk));
    deflater.on('error', (error) => this.events.fail(error));
    this.inflater = inflater;
    this.deflater = deflater;
  }

  /** Stops reading: nothing more is decoded (the connection is closing; output still drains). */
  dispose(): void {
    this.inflater?.destroy();
  }

  /** Closes the connection now, without flushing (a stream that cannot be decoded). */
  destroy(): void {
    this.inflater?.destroy();
    this.deflater?.destroy();
    this.base.destroy();
    this.raw.destroy();
  }

  /** Each decoded piece of a snappy stream, to the protocol: made once, not per read. */
  private readonly onDecoded = (piece: Buffer): void => this.events.data(piece);

  private decode(chunk: Buffer): void {
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
}
