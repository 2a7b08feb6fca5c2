/**
 * One TCP client of the broker after the `"  V2"` magic: its negotiated settings, state, RDY window
 * and in-flight count, counters for /stats, heartbeats and the read deadline, and its output buffer.
 * Commands are carried out by `protocol-v2.ts`; this module keeps the connection itself.
 */
import type { Socket } from 'node:net';
import { joinHostPort } from '../../protocol/address.ts';
import { LineTooLongError, type CommandParser, type Command } from '../../protocol/command-parser.ts';
import { commandParserFor } from './client-parser.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { FrameType, encodeFrame } from '../../protocol/frames.ts';
import type { AuthState } from './auth.ts';
import type { Channel, Subscriber } from './channel.ts';
import { ClientTransport, SOCKET_BACKLOG_LIMIT } from './client-transport.ts';
import type { CommitWaiter } from './group-commit.ts';
import { defaultClientSettings, type ClientSettings } from './identify.ts';
import type { BrokerMessage } from './message.ts';
import type { Nsqd } from './nsqd.ts';
import { OutputBuffer } from './output-buffer.ts';
import { CommandSequencer } from './command-sequencer.ts';
import type { HeartbeatClient, HeartbeatEntry, HeartbeatWheel } from './heartbeats.ts';
import type { Topic } from './topic.ts';
import { InFlightList } from './in-flight-list.ts';

/** Client states as /stats reports them. */
export const ClientState = {
  Init: 0,
  Subscribed: 3,
  Closing: 4,
} as const;
export type ClientState = (typeof ClientState)[keyof typeof ClientState];

/**
 * What carries out a client's commands (protocol-v2.ts): `execute` runs one, `checkBodyLine` makes
 * nsqd's checks of a body command's line before its body is read. Passed in by the server, so that
 * the connection, which the protocol drives, does not import the protocol back.
 */
export interface CommandProtocol {
  execute(client: ClientConnection, command: Command): Promise<void> | void;
  checkBodyLine(client: ClientConnection, command: Command): void;
}

/** Encoded once: every heartbeat of every client is these bytes. */
const HEARTBEAT_FRAME = encodeFrame(FrameType.Response, '_heartbeat_');

let nextClientId = 1;

export class ClientConnection implements Subscriber, CommitWaiter, HeartbeatClient {
  readonly id = nextClientId++;
  readonly connectTs = Math.floor(Date.now() / 1000);
  readonly remoteAddress: string;
  settings: ClientSettings;
  state: ClientState = ClientState.Init;
  readyCount = 0;
  /** The messages it holds in flight, kept by its channel. */
  readonly inFlight = new InFlightList();

  get inFlightCount(): number {
    return this.inFlight.size;
  }
  messageCount = 0;
  finishCount = 0;
  requeueCount = 0;
  /** Messages published per topic, for the /stats producers list. */
  readonly pubCounts = new Map<string, number>();
  topic: Topic | undefined;
  channel: Channel | undefined;
  readonly output: OutputBuffer;
  /** The socket and any TLS, snappy or deflate layer above it. */
  readonly transport: ClientTransport;
  /** What the auth server granted (undefined before AUTH). */
  authState: AuthState | undefined;
  /** The secret of the last AUTH, for re-querying after the grant expires. */
  authSecret = '';
  /** True while IDENTIFY upgrades the stream: nothing else may be written. */
  upgrading = false;
  private parser: CommandParser;
  private readonly sequencer = new CommandSequencer({
    execute: (command) => this.protocol.execute(this, command),
    answerError: (error) => this.answerError(error),
    pauseInput: () => this.transport.pauseInput('command'),
    resumeInput: () => this.transport.resumeInput('command'),
    isClosed: () => this.closed,
    isUpgrading: () => this.upgrading,
  });
  private heartbeat: HeartbeatEntry | undefined;
  /**
   * Wall-clock ms of the last read that completed a command; the read deadline is two heartbeat intervals
   * later, set per command as nsqd's (protocolV2.IOLoop): bytes completing nothing do not hold it off.
   */
  lastReadAtMs = Date.now();
  /** Commands read so far: tells whether a read completed one. */
  private commandsRead = 0;
  private backedUp = false;
  private closed = false;
  /** Its answers waited a heartbeat interval unread: dropped, as nsqd's write deadline drops it. */
  private readonly onWriteDeadline = (): void => {
    this.nsqd.logger.info({ client: this.remoteAddress }, 'client read none of its answers for a heartbeat interval: closing');
    this.output.discard();
    this.transport.destroy();
    this.handleClose();
  };
  private readonly onDrain = (): void => {
    this.backedUp = false;
    this.channel?.pump();
  };

  constructor(
    readonly socket: Socket,
    readonly nsqd: Nsqd,
    private readonly protocol: CommandProtocol,
    private readonly onClose: (client: ClientConnection) => void,
    private readonly heartbeats: HeartbeatWheel,
  ) {
    const host = socket.remoteAddress ?? '';
    this.remoteAddress = joinHostPort(host, socket.remotePort ?? 0);
    this.settings = defaultClientSettings(nsqd.options, host);
    this.transport = new ClientTransport(
      socket,
      {
        data: (chunk) => this.receive(chunk),
        end: () => this.onPeerEnd(),
        // nsqd answers each command before it reads the next, so the answers to what decoded before
        // the damage reach the client; then the connection closes, without an error frame. (A command
        // still waiting then, an AUTH or a TLS upgrade, is dropped with the connection unanswered.)
        fail: (error) => {
          nsqd.logger.info({ client: this.remoteAddress, err: error.message }, 'closing client: unreadable stream');
          this.close();
        },
        closed: () => this.handleClose(),
      },
      // A snappy read decodes to at most one body plus the frames around it.
      nsqd.options.maxBodySize + 65536,
    );
    this.output = new OutputBuffer(this.transport, this.settings.outputBufferSize);
    this.parser = this.newParser();
    socket.on('error', () => {
      /* 'close' follows; a reset by the peer is not our failure */
    });
    this.startHeartbeats();
  }

  private newParser(): CommandParser {
    const onCommand = (command: Command): boolean => {
      this.commandsRead++;
      return this.sequencer.accept(command);
    };
    const checkBodyLine = (command: Command): void => this.protocol.checkBodyLine(this, command);
    return commandParserFor(this.nsqd.options, onCommand, (command) => this.sequencer.checkLine(command, checkBodyLine));
  }

  /**
   * A fresh reader after IDENTIFY negotiated an upgrade: bytes read ahead past the IDENTIFY are
   * dropped, as nsqd's new bufio.Reader over the upgraded stream drops what the old one held.
   */
  restartParser(): void {
    this.parser.stop();
    this.sequencer.drop();
    this.parser = this.newParser();
  }

  /** Bytes after the magic. */
  receive(chunk: Buffer): void {
    this.transport.holdInputIfAnswersBackUp(this.settings.heartbeatIntervalMs, this.onWriteDeadline);
    const before = this.commandsRead;
    try {
      this.parser.push(chunk);
      if (this.commandsRead !== before) this.lastReadAtMs = Date.now();
    } catch (error) {
      // nsqd's reader fails on a line longer than its buffer and closes without an error frame.
      if (error instanceof LineTooLongError) this.close();
      else throw error;
    }
  }

  get msgTimeoutMs(): number {
    return this.settings.msgTimeoutMs;
  }

  get sampleRate(): number {
    return this.settings.sampleRate;
  }

  isReady(): boolean {
    return this.state === ClientState.Subscribed && this.inFlight.size < this.readyCount && !this.backedUp;
  }

  sendMessage(message: BrokerMessage): void {
    this.output.appendMessage(message);
    if (this.transport.writableLength > SOCKET_BACKLOG_LIMIT && !this.backedUp) {
      this.backedUp = true;
      this.transport.whenBacklogBelow(this.onDrain);
    }
  }

  sendResponse(data: string | Buffer): void {
    this.transport.answered(data.length);
    this.output.appendFrame(FrameType.Response, data);
  }

  /** Settings changed by IDENTIFY: the heartbeat and the output buffer follow. */
  applySettings(settings: ClientSettings): void {
    this.settings = settings;
    this.output.flushThreshold = settings.outputBufferSize;
    this.startHeartbeats();
  }

  recordPublish(topic: string, count: number): void {
    this.pubCounts.set(topic, (this.pubCounts.get(topic) ?? 0) + count);
  }

  /** Sync mode: the fsync its OK waited for failed, so the OK must not be sent: drop the connection. */
  commitFailed(error: unknown): void {
    if (this.closed) return;
    this.nsqd.logger.error({ client: this.remoteAddress, err: error }, 'fsync failed: dropping a publisher with an unconfirmed OK');
    this.output.discard();
    this.transport.destroy();
    this.handleClose();
  }

  closeForDelete(): void {
    this.channel = undefined;
    this.close();
  }

  /**
   * The client half-closed. nsqd stops reading at EOF: a body command cut off in its size or body is
   * answered with its "failed to read" error (which the half-open client can still read), then the
   * connection closes; a partial line is dropped silently.
   */
  private onPeerEnd(): void {
    if (this.closed) return;
    const truncated = this.parser.stopped ? undefined : this.parser.endOfStream();
    if (truncated !== undefined) {
      try {
        this.protocol.execute(this, truncated);
      } catch (error) {
        this.answerError(error);
      }
    }
    this.close();
  }

  /** Flushes what is waiting and closes the connection. */
  close(): void {
    if (this.closed) return;
    this.output.flush();
    this.transport.end();
    this.handleClose();
  }

  /** Sends an error frame; a fatal one closes the connection. Returns whether parsing goes on. */
  private answerError(error: unknown): boolean {
    const protocolError =
      error instanceof ProtocolError ? error : new ProtocolError('E_INVALID', error instanceof Error ? error.message : String(error));
    // Descriptions quote the client's own bytes (ids, names, parameters), which the parser decoded as
    // latin1: writing them back as latin1 returns those bytes unchanged, as nsqd does.
    const data = error instanceof ProtocolError ? Buffer.from(protocolError.toFrameData(), 'latin1') : protocolError.toFrameData();
    this.transport.answered(data.length);
    this.output.appendFrame(FrameType.Error, data);
    if (!protocolError.fatal) return true;
    this.nsqd.logger.debug({ client: this.remoteAddress, err: protocolError.message }, 'closing client after fatal error');
    this.close();
    return false;
  }

  /** (Re)starts the heartbeats at the negotiated interval, as nsqd restarts its ticker at IDENTIFY. */
  private startHeartbeats(): void {
    if (this.heartbeat !== undefined) this.heartbeats.cancel(this.heartbeat);
    this.heartbeat = undefined;
    const interval = this.settings.heartbeatIntervalMs;
    if (interval <= 0 || this.closed) return;
    this.heartbeat = this.heartbeats.schedule(this, interval);
  }

  sendHeartbeat(): void {
    if (!this.upgrading) this.output.writeShared(HEARTBEAT_FRAME);
  }

  missedHeartbeats(): void {
    this.nsqd.logger.info({ client: this.remoteAddress }, 'client missed heartbeats: closing');
    this.close();
  }

  private handleClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.parser.stop();
    this.sequencer.drop();
    this.transport.dispose();
    if (this.heartbeat !== undefined) this.heartbeats.cancel(this.heartbeat);
    const { channel, topic } = this;
    if (channel !== undefined) {
      channel.removeSubscriber(this);
      if (topic !== undefined) this.nsqd.releaseEphemeralChannel(topic, channel);
    }
    this.onClose(this);
  }
}
