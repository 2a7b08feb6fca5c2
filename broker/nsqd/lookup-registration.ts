/**
 * nsqd's side of nsqlookupd: one TCP protocol V1 connection per `--lookupd-tcp-address`. On every
 * (re)connect it sends the magic, IDENTIFY, and a REGISTER for everything the broker has; then it
 * forwards topic and channel changes as they happen and PINGs every 15s.
 *
 * Nothing here ever waits on a lookupd: every call returns at once. While a lookupd is unreachable
 * its changes are not queued; the full registration sent on the next connect covers them (a new
 * connection is a new peer to nsqlookupd, so it starts from nothing anyway). Reconnects back off
 * exponentially up to a cap, so a dead lookupd costs at most a few dials per second.
 */
import { connect, type Socket } from 'node:net';
import pino, { type Logger } from 'pino';
import { encodeCommand, encodeIdentify, MAGIC_V1 } from '../../protocol/commands.ts';
import { SizedPayloadDecoder } from '../../protocol/frames.ts';
import { isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { parseHostPort, type HostPort } from '../lookupd/address.ts';

/** What this nsqd tells each lookupd in IDENTIFY. Ports are the broadcast ports. */
export interface RegistrarIdentity {
  broadcastAddress: string;
  hostname: string;
  tcpPort: number;
  httpPort: number;
  version: string;
  topologyZone?: string;
  topologyRegion?: string;
}

/** One topic and its channels, as the broker holds them at the moment of the call. */
export interface TopologyEntry {
  topic: string;
  channels: string[];
}

export interface LookupdRegistrarOptions {
  lookupdTcpAddresses: readonly string[];
  identity: RegistrarIdentity;
  /** The broker's topics and channels, read on every (re)connect. */
  snapshot: () => TopologyEntry[];
  logger?: Logger;
  /** Keep-alive PING interval. Default 15000, nsqd's. */
  pingIntervalMs?: number;
  /** Dial timeout, and how long a sent command may wait for its answer. Default 1000, nsqd's. */
  timeoutMs?: number;
  /** First reconnect delay; it doubles per failed attempt. Default 250. */
  reconnectMinMs?: number;
  /** Longest reconnect delay. Default 15000. */
  reconnectMaxMs?: number;
}

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

const joinHostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** The connection to one lookupd, with its reconnect loop. */
class LookupdPeer {
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

interface RegistrarSettings {
  readonly logger: Logger;
  readonly timeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly identifyCommand: Buffer;
  registrationCommands(): Buffer[];
}

/**
 * Keeps this nsqd registered with every configured nsqlookupd. Wire it to the broker's topology:
 * `registerTopic` on topic create, `registerChannel` on channel create, and the unregister calls on
 * delete. All calls are fire-and-forget and never block.
 */
export class LookupdRegistrar {
  private readonly peers = new Map<string, LookupdPeer>();
  private readonly settings: RegistrarSettings;
  private readonly pingIntervalMs: number;
  private pingTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: LookupdRegistrarOptions) {
    const logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'lookup-registration' });
    const { identity } = options;
    this.pingIntervalMs = options.pingIntervalMs ?? 15_000;
    this.settings = {
      logger,
      timeoutMs: options.timeoutMs ?? 1000,
      reconnectMinMs: options.reconnectMinMs ?? 250,
      reconnectMaxMs: options.reconnectMaxMs ?? 15_000,
      // nsqd builds this body as a Go map, so its keys go out sorted.
      identifyCommand: encodeIdentify({
        broadcast_address: identity.broadcastAddress,
        hostname: identity.hostname,
        http_port: identity.httpPort,
        tcp_port: identity.tcpPort,
        topology_region: identity.topologyRegion ?? '',
        topology_zone: identity.topologyZone ?? '',
        version: identity.version,
      }),
      registrationCommands: () => this.registrationCommands(),
    };
    for (const address of new Set(options.lookupdTcpAddresses)) this.addPeer(address);
  }

  /** Connects to every lookupd. Idempotent. */
  start(): void {
    if (this.started || this.closing !== undefined) return;
    this.started = true;
    for (const peer of this.peers.values()) peer.start();
    this.pingTimer = setInterval(() => {
      for (const peer of this.peers.values()) peer.ping();
    }, this.pingIntervalMs);
    this.pingTimer.unref();
  }

  registerTopic(topic: string): void {
    this.broadcast(encodeCommand('REGISTER', [topic]));
  }

  registerChannel(topic: string, channel: string): void {
    this.broadcast(encodeCommand('REGISTER', [topic, channel]));
  }

  unregisterTopic(topic: string): void {
    this.broadcast(encodeCommand('UNREGISTER', [topic]));
  }

  unregisterChannel(topic: string, channel: string): void {
    this.broadcast(encodeCommand('UNREGISTER', [topic, channel]));
  }

  /**
   * Replaces the lookupd list (`PUT /config/nsqlookupd_tcp_addresses`): lookupds no longer listed
   * are disconnected, new ones connected, the others left alone.
   */
  setLookupdTcpAddresses(addresses: readonly string[]): void {
    if (this.closing !== undefined) return;
    const wanted = new Set(addresses);
    for (const [address, peer] of this.peers) {
      if (wanted.has(address)) continue;
      this.peers.delete(address);
      void peer.close();
    }
    for (const address of wanted) {
      if (this.peers.has(address)) continue;
      const peer = this.addPeer(address);
      if (this.started) peer.start();
    }
  }

  /**
   * `broadcast_address:http_port` of every lookupd that has answered IDENTIFY (kept across
   * reconnects). nsqd asks these for a topic's channels when the topic is created.
   */
  lookupdHttpAddresses(): string[] {
    const addresses: string[] = [];
    for (const { info } of this.peers.values()) {
      if (info !== undefined && info.broadcastAddress !== '') addresses.push(joinHostPort(info.broadcastAddress, info.httpPort));
    }
    return addresses;
  }

  /** Disconnects from every lookupd. Idempotent: later calls wait on the first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.pingTimer);
      await Promise.all([...this.peers.values()].map((peer) => peer.close()));
    })();
    return this.closing;
  }

  private addPeer(address: string): LookupdPeer {
    const peer = new LookupdPeer(address, this.settings);
    this.peers.set(address, peer);
    return peer;
  }

  private broadcast(command: Buffer): void {
    for (const peer of this.peers.values()) peer.send(command);
  }

  /** `REGISTER t` for a topic without channels, else `REGISTER t c` per channel (which registers t too). */
  private registrationCommands(): Buffer[] {
    const commands: Buffer[] = [];
    for (const { topic, channels } of this.options.snapshot()) {
      // A name the lookupd would refuse would close the connection and fail every reconnect the same way.
      if (!isValidTopicName(topic)) continue;
      const valid = channels.filter((channel) => isValidChannelName(channel));
      if (valid.length === 0) commands.push(encodeCommand('REGISTER', [topic]));
      else for (const channel of valid) commands.push(encodeCommand('REGISTER', [topic, channel]));
    }
    return commands;
  }
}
