/**
 * One nsqd → nsqlookupd connection (protocol V1): dial, magic, IDENTIFY, full registration on every
 * (re)connect, changes as they happen, PING, and reconnect with capped exponential backoff. It never
 * makes its caller wait, and never queues more than a bounded number of unsent bytes.
 */
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { encodeCommand, MAGIC_V1 } from '../../protocol/commands.ts';
import { SizedPayloadDecoder } from '../../protocol/frames.ts';
import { parseHostPort, type HostPort } from '../../protocol/address.ts';

/** What a lookupd answered to IDENTIFY. */
export interface LookupdInfo {
  broadcastAddress: string;
  hostname: string;
  tcpPort: number;
  httpPort: number;
  version: string;
}

/** Bytes written but not yet taken by the kernel beyond which a lookupd counts as stuck. */
const MAX_UNSENT_BYTES = 1024 * 1024;
/** Largest reply read from a lookupd (IDENTIFY's is ~150 bytes); nsqd bounds it by its max body size. */
const MAX_REPLY_BYTES = 5 * 1024 * 1024;
const PING = encodeCommand('PING');

const enum State {
  Idle,
  Connecting,
  Identifying,
  Ready,
  Waiting,
  Closed,
}

/** The connection to one lookupd, with its reconnect loop. */
export class LookupdPeer {
  info: LookupdInfo | undefined;
  private state = State.Idle;
  private socket: Socket | undefined;
  private decoder: SizedPayloadDecoder | undefined;
  /** Commands written and not yet answered. */
  private awaiting = 0;
  private deadline: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastError: string | undefined;
  private closed: Promise<void> | undefined;
  private readonly target: HostPort | undefined;
  private readonly log: Logger;

  constructor(
    readonly address: string,
    private readonly registrar: RegistrarSettings,
  ) {
    this.log = registrar.logger.child({ lookupd: address });
    try {
      this.target = parseHostPort(address);
    } catch (error) {
      this.log.error({ err: error }, 'invalid lookupd address: not connecting');
    }
  }

  start(): void {
    if (this.state === State.Idle) this.connect();
  }

  /** Sends a command if the registration is up; otherwise the next full registration covers it. */
  send(command: Buffer): void {
    if (this.state !== State.Ready) return;
    this.write(command, 1);
  }

  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      this.state = State.Closed;
      clearTimeout(this.reconnectTimer);
      clearTimeout(this.deadline);
      const socket = this.socket;
      if (socket === undefined || socket.destroyed) {
        resolve();
        return;
      }
      socket.once('close', () => resolve());
      socket.destroy();
    });
    return this.closed;
  }

  private connect(): void {
    if (this.target === undefined || this.state === State.Closed) return;
    this.state = State.Connecting;
    this.awaiting = 0;
    const socket = connect({ host: this.target.host || undefined, port: this.target.port });
    this.socket = socket;
    this.decoder = new SizedPayloadDecoder((payload) => this.onReply(payload), MAX_REPLY_BYTES);
    socket.setNoDelay(true);
    // One deadline per connection: the dial, then the oldest unanswered command.
    this.deadline = setTimeout(() => this.onDeadline(socket), this.registrar.timeoutMs);
    this.deadline.unref();
    socket.on('connect', () => {
      if (this.socket !== socket || this.state !== State.Connecting) return;
      this.state = State.Identifying;
      this.write(Buffer.concat([MAGIC_V1, this.registrar.identifyCommand]), 1);
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      try {
        this.decoder!.push(chunk);
      } catch (error) {
        this.log.warn({ err: error }, 'bad reply from lookupd');
        socket.destroy();
      }
    });
    socket.on('error', (error) => {
      this.lastError = error.message;
      this.log.debug({ err: error }, 'lookupd connection error');
    });
    socket.on('close', () => this.onClose(socket));
  }

  private write(data: Buffer, commands: number): void {
    const socket = this.socket!;
    if (socket.writableLength > MAX_UNSENT_BYTES) {
      this.log.warn('lookupd is not reading: reconnecting');
      socket.destroy();
      return;
    }
    if (this.awaiting === 0) this.deadline?.refresh();
    this.awaiting += commands;
    socket.write(data);
  }

  private onReply(payload: Buffer): void {
    if (this.awaiting > 0) this.awaiting--;
    if (this.awaiting > 0) this.deadline?.refresh();
    if (this.state === State.Identifying) {
      this.onIdentifyReply(payload);
      return;
    }
    if (payload.length >= 2 && payload[0] === 0x45 /* E */ && payload[1] === 0x5f /* _ */) {
      // Every V1 error is fatal: the lookupd closes next, and the reconnect re-registers.
      this.log.warn({ reply: payload.toString('utf8') }, 'lookupd refused a command');
    }
  }

  private onIdentifyReply(payload: Buffer): void {
    const socket = this.socket!;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.log.error({ reply: payload.toString('utf8') }, 'lookupd refused IDENTIFY');
      socket.destroy();
      return;
    }
    const reply = parsed as Record<string, unknown>;
    const text = (value: unknown): string => (typeof value === 'string' ? value : '');
    const int = (value: unknown): number => (typeof value === 'number' && Number.isInteger(value) ? value : 0);
    this.info = {
      broadcastAddress: text(reply.broadcast_address),
      hostname: text(reply.hostname),
      tcpPort: int(reply.tcp_port),
      httpPort: int(reply.http_port),
      version: text(reply.version),
    };
    if (this.info.broadcastAddress === '') this.log.error('lookupd sent no broadcast address');
    let registrations: Buffer[];
    try {
      registrations = this.registrar.registrationCommands();
    } catch (error) {
      this.log.error({ err: error }, 'cannot read the topics to register: reconnecting');
      socket.destroy();
      return;
    }
    this.state = State.Ready;
    this.failures = 0;
    this.log.info({ peer: this.info, registrations: registrations.length }, 'registered with lookupd');
    if (registrations.length > 0) this.write(Buffer.concat(registrations), registrations.length);
  }

  private onDeadline(socket: Socket): void {
    if (this.socket !== socket || socket.destroyed) return;
    if (this.state === State.Connecting) this.log.warn('lookupd dial timed out');
    else if (this.awaiting > 0) this.log.warn('lookupd did not answer in time: reconnecting');
    else return;
    socket.destroy();
  }

  private onClose(socket: Socket): void {
    if (this.socket !== socket) return;
    clearTimeout(this.deadline);
    this.socket = undefined;
    this.decoder = undefined;
    if (this.state === State.Closed) return;
    if (this.state !== State.Ready) this.failures++;
    this.state = State.Waiting;
    const { reconnectMinMs, reconnectMaxMs } = this.registrar;
    const ceiling = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** Math.min(this.failures, 30));
    // Jitter spreads the dials of many nsqd restarting together; the floor keeps the rate bounded.
    const delay = Math.max(reconnectMinMs, Math.round(ceiling * (0.5 + Math.random() * 0.5)));
    this.log.info({ delayMs: delay, error: this.lastError }, 'lookupd connection closed: reconnecting');
    this.lastError = undefined;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    this.reconnectTimer.unref();
  }

  /** Pings a registered connection (keep-alive; lookupd refreshes the peer's last_update). */
  ping(): void {
    this.send(PING);
  }
}

export interface RegistrarSettings {
  readonly logger: Logger;
  readonly timeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly identifyCommand: Buffer;
  registrationCommands(): Buffer[];
}
