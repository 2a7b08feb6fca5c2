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
import pino, { type Logger } from 'pino';
import { encodeCommand, encodeIdentify } from '../../protocol/commands.ts';
import { isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { joinHostPort } from '../../protocol/address.ts';
import { LookupdPeer, type RegistrarSettings } from './lookupd-peer.ts';

export type { LookupdInfo } from './lookupd-peer.ts';

/** What this nsqd tells each lookupd in IDENTIFY. Ports are the broadcast ports. */
export interface RegistrarIdentity {
  broadcastAddress: string;
  hostname: string;
  tcpPort: number;
  httpPort: number;
  version: string;
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
