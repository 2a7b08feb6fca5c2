/**
 * One TCP connection to one nsqd, speaking protocol V2: magic, IDENTIFY with feature negotiation
 * (and AUTH when asked), heartbeats answered with NOP, a read timeout of two heartbeat intervals,
 * and frames handed to a delegate. FIN/REQ/TOUCH are batched: queued as text and written once per
 * tick, so a burst of acknowledgements costs one socket write.
 */
import { CLS, MAGIC_V2, NOP, encodeAuth, encodeIdentify, finLine, reqLine, touchLine } from '../protocol/commands.ts';
import { FrameDecoder, FrameSizeError, FrameType, isLookupdRefusal } from '../protocol/frames.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { AckQueue } from './ack-queue.ts';
import { ClientErrorCode, NsqClientError } from './errors.ts';
import { DEFAULT_IDENTITY, parseHostPort, readIdentifyAnswer, type ServerIdentity } from './handshake.ts';
import { identifyBody, type ConnectionOptions } from './options.ts';
import { ClientTransport } from './transport.ts';
import { startUpgrade, upgradeSteps, type UpgradeStep } from './upgrade.ts';
import { socketFailure } from './tls-failure.ts';

/** What the connection reports once the handshake is done. */
export interface ConnectionDelegate {
  /** A message frame's payload: a slice of the received chunk, decode it before the next tick or copy it. */
  onMessage(payload: Buffer): void;
  /** A response frame other than `_heartbeat_`: `OK`, `CLOSE_WAIT`. */
  onResponse(data: Buffer): void;
  /** An error frame. nsqd closes the connection after a fatal one (`error.fatal`). */
  onProtocolError(error: ProtocolError): void;
  /** Called once when the socket is gone. `error` is undefined only for a close we asked for. */
  onClose(error: Error | undefined): void;
}

const HEARTBEAT = Buffer.from('_heartbeat_');
const OK = Buffer.from('OK');
/** How long end() waits for the server to close its side before destroying the socket. */
const END_GRACE_MS = 2000;

type State = 'idle' | 'connecting' | 'identifying' | 'upgrading' | 'authenticating' | 'connected' | 'closed';

export class NsqConnection {
  identity: ServerIdentity = DEFAULT_IDENTITY;
  /** Date.now() of the last chunk received; consumers use it to find idle connections. */
  lastReadAt = 0;
  private state: State = 'idle';
  private socket: ClientTransport | undefined;
  private upgrades: UpgradeStep[] = [];
  private readonly decoder: FrameDecoder;
  private readonly acks = new AckQueue((text) => {
    if (this.socket !== undefined && this.state !== 'closed') this.socket.write(text);
  });
  private readTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private closeError: Error | undefined;
  private closedPromise: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  private handshake: { resolve: (identity: ServerIdentity) => void; reject: (error: Error) => void } | undefined;

  constructor(
    readonly address: string,
    private readonly options: ConnectionOptions,
    private readonly delegate: ConnectionDelegate,
  ) {
    this.decoder = new FrameDecoder((type, data) => this.onFrame(type, data), options.maxFrameSize);
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Connects and runs the handshake. Rejects with a typed error; the delegate hears nothing until this resolves. */
  connect(): Promise<ServerIdentity> {
    if (this.state !== 'idle') return Promise.reject(new NsqClientError(ClientErrorCode.Closed, 'connect() may be called once'));
    const { host, port } = parseHostPort(this.address);
    this.state = 'connecting';
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    return new Promise<ServerIdentity>((resolve, reject) => {
      this.handshake = { resolve, reject };
      this.connectTimer = setTimeout(() => {
        this.fail(new NsqClientError(ClientErrorCode.ConnectTimeout, `connecting to ${this.address} timed out after ${this.options.connectTimeoutMs}ms`));
      }, this.options.connectTimeoutMs);
      // Writes, cork and end go through the transport: plain, or TLS and compression once negotiated.
      const fail = (error: Error): void => this.fail(socketFailure(this.address, error, this.options.tls));
      this.socket = new ClientTransport(host, port, this.options.maxFrameSize + 65536, {
        connected: () => {
          if (this.state !== 'connecting') return;
          this.state = 'identifying';
          this.lastReadAt = Date.now();
          this.socket!.write(Buffer.concat([MAGIC_V2, encodeIdentify(identifyBody(this.options))]));
        },
        data: (chunk) => this.onBytes(chunk),
        fail,
        // nsqd never half-closes: the other side is gone. Close ours so 'close' follows.
        ended: () => this.fail(new NsqClientError(ClientErrorCode.ConnectionClosed, `${this.address} closed the connection`)),
        closed: () => this.onSocketClosed(),
      });
    });
  }

  private onBytes(chunk: Buffer): void {
    this.lastReadAt = Date.now();
    try {
      this.decoder.push(chunk);
    } catch (error) {
      // Which nsqd sent it: a tool or consumer given several says which address is wrong.
      if (error instanceof FrameSizeError) error.message = `${this.address}: ${error.message}`;
      this.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Writes a command now, after any queued acknowledgements (order is kept). */
  write(command: Buffer): boolean {
    if (this.socket === undefined || this.state === 'closed') return false;
    this.acks.flush();
    this.socket.write(command);
    return true;
  }

  /**
   * Writes a command, coalescing every write made in the same tick into one system call: a
   * producer pipelining many publishes pays one write for all of them.
   */
  writeCoalesced(command: Buffer): boolean {
    if (this.socket === undefined || this.state === 'closed') return false;
    this.acks.flush();
    this.socket.writeCoalesced(command);
    return true;
  }

  queueFin(id: string): void {
    this.acks.add(finLine(id));
  }

  queueReq(id: string, delayMs: number): void {
    this.acks.add(reqLine(id, delayMs));
  }

  queueTouch(id: string): void {
    this.acks.add(touchLine(id));
  }

  /** Writes queued acknowledgements now. */
  flush(): void {
    this.acks.flush();
  }

  /** Sends CLS. The server answers CLOSE_WAIT through onResponse and stops sending messages. */
  sendCls(): boolean {
    return this.write(CLS);
  }

  /** Flushes, half-closes and resolves once the socket is closed (destroying it if the server lingers). */
  end(): Promise<void> {
    if (this.socket === undefined || this.state === 'closed') return this.closedPromise ?? Promise.resolve();
    this.flush();
    this.socket.end();
    const timer = setTimeout(() => this.destroy(), END_GRACE_MS);
    timer.unref();
    return this.closedPromise!.then(() => clearTimeout(timer));
  }

  /** Closes now. With an error, the delegate (or the pending connect) hears it. */
  destroy(error?: Error): void {
    if (error !== undefined) {
      this.fail(error);
      return;
    }
    if (this.socket === undefined || this.state === 'closed') return;
    this.socket.destroy();
  }

  /** Resolves when the socket has closed. */
  whenClosed(): Promise<void> {
    return this.closedPromise ?? Promise.resolve();
  }

  private fail(error: Error): void {
    if (this.state === 'closed') return;
    this.closeError ??= error;
    this.socket?.destroy();
  }

  private onSocketClosed(): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    this.acks.clear();
    clearTimeout(this.connectTimer);
    if (this.readTimer !== undefined) clearInterval(this.readTimer);
    const error = this.closeError;
    if (this.handshake !== undefined) {
      const { reject } = this.handshake;
      this.handshake = undefined;
      reject(error ?? new NsqClientError(ClientErrorCode.ConnectionClosed, `${this.address} closed during the handshake`));
    }
    this.resolveClosed?.();
    if (wasConnected) this.delegate.onClose(error);
  }

  private onFrame(type: number, data: Buffer): void {
    if (this.state === 'closed') return;
    if (this.state === 'connected') {
      if (type === FrameType.Message) this.delegate.onMessage(data);
      else if (type === FrameType.Response) {
        if (data.equals(HEARTBEAT)) this.write(NOP);
        else this.delegate.onResponse(data);
      } else if (type === FrameType.Error) {
        const error = ProtocolError.parse(data.toString());
        if (error.fatal) this.closeError ??= error;
        this.delegate.onProtocolError(error);
      } else {
        this.fail(new NsqClientError(ClientErrorCode.UnexpectedFrame, `${this.address} sent unknown frame type ${type}`));
      }
      return;
    }
    this.onHandshakeFrame(type, data);
  }

  private onHandshakeFrame(type: number, data: Buffer): void {
    if (type === FrameType.Response && data.equals(HEARTBEAT)) {
      this.write(NOP);
      return;
    }
    if (type === FrameType.Error) {
      this.fail(ProtocolError.parse(data.toString()));
      return;
    }
    if (type !== FrameType.Response) {
      const message = isLookupdRefusal(type, data) ? "answered E_BAD_PROTOCOL, as an nsqlookupd's TCP port does: give an nsqd's TCP port (4150 by default)" : `sent frame type ${type} during the handshake`;
      this.fail(new NsqClientError(ClientErrorCode.UnexpectedFrame, `${this.address} ${message}`));
      return;
    }
    if (this.state === 'authenticating') {
      this.finishHandshake();
      return;
    }
    if (this.state === 'upgrading') {
      if (!data.equals(OK)) {
        this.fail(new NsqClientError(ClientErrorCode.UnexpectedFrame, `${this.address} answered an upgrade with ${data.toString()}`));
        return;
      }
      this.nextUpgrade();
      return;
    }
    const answer = readIdentifyAnswer(this.address, data);
    if (answer instanceof Error) {
      this.fail(answer);
      return;
    }
    this.identity = answer;
    if (answer.negotiated === undefined) {
      this.finishHandshake();
      return;
    }
    try {
      this.upgrades = upgradeSteps(answer.negotiated, this.options, this.address);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.state = 'upgrading';
    this.nextUpgrade();
  }

  /** The next upgrade IDENTIFY's answer asked for (each confirmed by an OK), then AUTH when required. */
  private nextUpgrade(): void {
    const step = this.upgrades.shift();
    if (step !== undefined) {
      startUpgrade(step, { transport: this.socket!, decoder: this.decoder, options: this.options, address: this.address, fail: (error) => this.fail(error) });
      return;
    }
    const negotiated = this.identity.negotiated!;
    if (negotiated.auth_required) {
      if (this.options.authSecret === undefined) {
        this.fail(new NsqClientError(ClientErrorCode.AuthRequired, `${this.address} requires AUTH and no authSecret is set`));
        return;
      }
      this.state = 'authenticating';
      this.write(encodeAuth(this.options.authSecret));
      return;
    }
    this.finishHandshake();
  }

  private finishHandshake(): void {
    this.state = 'connected';
    clearTimeout(this.connectTimer);
    const heartbeatMs = this.options.heartbeatIntervalMs;
    // Checked at half the heartbeat so a dead peer is noticed between 2 and 2.5 intervals of silence.
    this.readTimer = setInterval(() => {
      if (Date.now() - this.lastReadAt > 2 * heartbeatMs) {
        this.fail(new NsqClientError(ClientErrorCode.ReadTimeout, `${this.address}: nothing read for ${2 * heartbeatMs}ms`));
      }
    }, heartbeatMs / 2);
    this.readTimer.unref();
    const handshake = this.handshake;
    this.handshake = undefined;
    handshake?.resolve(this.identity);
  }
}
