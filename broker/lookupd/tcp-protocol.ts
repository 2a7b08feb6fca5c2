/**
 * nsqlookupd's TCP protocol V1, one {@link LookupConnection} per nsqd: the magic `"  V1"`, then
 * line commands (PING, IDENTIFY + body, REGISTER, UNREGISTER), each answered `[int32 size][data]`
 * with no frame type. Every error is fatal: the error text is written, then the connection closes.
 * When the connection closes the peer leaves every key it was registered under.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { MAGIC_V1 } from '../../protocol/commands.ts';
import { CommandParser, LineTooLongError, type Command } from '../../protocol/command-parser.ts';
import { encodeSizedPayload } from '../../protocol/frames.ts';
import { isEphemeralName, isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { joinHostPort } from '../../protocol/address.ts';
import { decodeIdentifyBody } from './identify-body.ts';
import { WILDCARD, type PeerInfo, type RegistrationDb } from './registry.ts';

/** What a connection needs from the lookupd it belongs to. */
export interface LookupdProtocolContext {
  readonly db: RegistrationDb;
  readonly logger: Logger;
  /** The IDENTIFY reply, already framed: it depends only on the lookupd's bound ports and names. */
  readonly identifyReply: Buffer;
  /** Wall-clock ms (injectable so expiry can be tested without waiting). */
  now(): number;
}

/** nsqlookupd reads the IDENTIFY body without a limit; ours is bounded, and nsqd sends ~200 bytes. */
export const MAX_IDENTIFY_BODY_BYTES = 64 * 1024;

const OK_REPLY = encodeSizedPayload('OK');

/** A fatal V1 error: `<code> <description>` is the whole reply. */
class V1Error extends Error {
  constructor(readonly code: string, readonly description: string) {
    super(`${code} ${description}`);
  }
}

const enum Phase {
  Magic,
  Commands,
  Closed,
}

export class LookupConnection {
  private phase = Phase.Magic;
  private readonly magic = Buffer.alloc(4);
  private magicFilled = 0;
  private peer: PeerInfo | undefined;
  /**
   * Per connection, and emptied after IDENTIFY: a second IDENTIFY then reaches us as a bare line, so
   * it is refused before any body is read, in the order nsqlookupd checks.
   */
  private readonly bodyLimits = new Map([['IDENTIFY', MAX_IDENTIFY_BODY_BYTES]]);
  private readonly parser = new CommandParser(
    { bodyLimits: this.bodyLimits, trimLines: true },
    (command) => this.execute(command),
  );
  private readonly remoteAddress: string;
  private readonly log: Logger;

  constructor(
    private readonly socket: Socket,
    private readonly context: LookupdProtocolContext,
  ) {
    // On a dual-stack listener an IPv4 peer shows as ::ffff:a.b.c.d; Go reports it as a.b.c.d.
    const host = (socket.remoteAddress ?? 'unknown').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    this.remoteAddress = joinHostPort(host, socket.remotePort ?? 0);
    this.log = context.logger.child({ client: this.remoteAddress });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.log.debug({ err: error }, 'connection error'));
    socket.on('close', () => this.onClose());
  }

  /** Drops the connection now (the lookupd is closing). */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.phase === Phase.Closed) return;
    try {
      if (this.phase === Phase.Magic) {
        let offset = 0;
        while (this.magicFilled < 4 && offset < chunk.length) this.magic[this.magicFilled++] = chunk[offset++]!;
        if (this.magicFilled < 4) return;
        if (!this.magic.equals(MAGIC_V1)) {
          this.log.warn({ magic: this.magic.toString('latin1') }, 'bad protocol magic');
          this.fail('E_BAD_PROTOCOL');
          return;
        }
        this.phase = Phase.Commands;
        if (offset === chunk.length) return;
        chunk = chunk.subarray(offset);
      }
      this.parser.push(chunk);
    } catch (error) {
      if (error instanceof LineTooLongError) {
        this.log.warn('command line too long');
        this.fail(`E_INVALID ${error.message}`);
      } else {
        // A bug here must cost one connection, never the lookupd.
        this.log.error({ err: error }, 'failed to handle command');
        this.close();
      }
    }
  }

  /** Runs one command; false stops the parser (the connection is closing). */
  private execute(command: Command): boolean {
    if (this.phase !== Phase.Commands) return false;
    try {
      const reply = this.dispatch(command);
      // A peer that sends without reading would make replies pile up here: stop reading it until
      // its replies have drained, so its cost stays bounded by one chunk of commands.
      if (!this.socket.write(reply) && !this.socket.isPaused()) {
        this.socket.pause();
        this.socket.once('drain', () => this.socket.resume());
      }
      return true;
    } catch (error) {
      if (!(error instanceof V1Error)) throw error;
      this.log.info({ code: error.code, description: error.description }, 'client error');
      this.fail(error.message);
      return false;
    }
  }

  private dispatch(command: Command): Buffer {
    const params = command.params.slice(1);
    switch (command.name) {
      case 'PING':
        // A PING may come before IDENTIFY; only an identified peer has a last_update to refresh.
        if (this.peer !== undefined) this.peer.lastUpdateMs = this.context.now();
        return OK_REPLY;
      case 'IDENTIFY':
        return this.identify(command);
      case 'REGISTER':
        return this.register(params);
      case 'UNREGISTER':
        return this.unregister(params);
      default:
        throw new V1Error('E_INVALID', `invalid command ${command.name}`);
    }
  }

  private identify(command: Command): Buffer {
    if (this.peer !== undefined) throw new V1Error('E_INVALID', 'cannot IDENTIFY again');
    // nsqlookupd would fail to read a negative size and wait forever for an oversized body; both are
    // refused here with the text of the read that would have failed.
    if (command.bodySize < 0) throw new V1Error('E_BAD_BODY', 'IDENTIFY failed to read body size');
    if (command.body === undefined && command.bodySize > 0) throw new V1Error('E_BAD_BODY', 'IDENTIFY failed to read body');
    const decoded = decodeIdentifyBody(command.body ?? Buffer.alloc(0));
    if (!decoded.ok) {
      throw new V1Error(
        'E_BAD_BODY',
        decoded.reason === 'decode' ? 'IDENTIFY failed to decode JSON body' : 'IDENTIFY missing fields',
      );
    }
    const peer: PeerInfo = {
      id: this.remoteAddress,
      remoteAddress: this.remoteAddress,
      ...decoded.fields,
      lastUpdateMs: this.context.now(),
    };
    this.peer = peer;
    this.bodyLimits.delete('IDENTIFY');
    this.log.info(
      { broadcastAddress: peer.broadcastAddress, tcpPort: peer.tcpPort, httpPort: peer.httpPort, version: peer.version },
      'IDENTIFY',
    );
    this.context.db.addProducer({ category: 'client', key: '', subKey: '' }, peer);
    return this.context.identifyReply;
  }

  private register(params: string[]): Buffer {
    const peer = this.requirePeer();
    const [topic, channel] = topicAndChannel('REGISTER', params);
    const { db } = this.context;
    if (channel !== '' && db.addProducer({ category: 'channel', key: topic, subKey: channel }, peer)) {
      this.log.info({ topic, channel }, 'REGISTER channel');
    }
    if (db.addProducer({ category: 'topic', key: topic, subKey: '' }, peer)) this.log.info({ topic }, 'REGISTER topic');
    return OK_REPLY;
  }

  private unregister(params: string[]): Buffer {
    const peer = this.requirePeer();
    const [topic, channel] = topicAndChannel('UNREGISTER', params);
    const { db } = this.context;
    if (channel !== '') {
      const key = { category: 'channel', key: topic, subKey: channel } as const;
      const { removed, left } = db.removeProducer(key, peer.id);
      if (removed) this.log.info({ topic, channel }, 'UNREGISTER channel');
      // An ephemeral channel disappears with its last producer; others stay listed.
      if (left === 0 && isEphemeralName(channel)) db.removeRegistration(key);
    } else {
      // A topic unregistration takes the peer off the topic's channels too.
      for (const registration of db.findRegistrations('channel', topic, WILDCARD)) {
        if (db.removeProducer(registration, peer.id).removed) {
          this.log.warn({ topic, channel: registration.subKey }, 'unexpected UNREGISTER of a channel with its topic');
        }
      }
      const key = { category: 'topic', key: topic, subKey: '' } as const;
      const { removed, left } = db.removeProducer(key, peer.id);
      if (removed) this.log.info({ topic }, 'UNREGISTER topic');
      if (left === 0 && isEphemeralName(topic)) db.removeRegistration(key);
    }
    return OK_REPLY;
  }

  private requirePeer(): PeerInfo {
    if (this.peer === undefined) throw new V1Error('E_INVALID', 'client must IDENTIFY');
    return this.peer;
  }

  /** Writes the error reply, then closes: every V1 error is fatal. */
  private fail(text: string): void {
    if (this.phase === Phase.Closed) return;
    this.phase = Phase.Closed;
    this.parser.stop();
    this.socket.end(encodeSizedPayload(text), () => this.socket.destroy());
  }

  private close(): void {
    this.phase = Phase.Closed;
    this.parser.stop();
    this.socket.destroy();
  }

  private onClose(): void {
    this.phase = Phase.Closed;
    const peer = this.peer;
    if (peer === undefined) return;
    this.peer = undefined;
    for (const r of this.context.db.removePeer(peer.id)) {
      this.log.info({ category: r.category, key: r.key, subKey: r.subKey }, 'UNREGISTER on disconnect');
    }
  }
}

/** REGISTER/UNREGISTER parameters: a topic and an optional channel, both checked as nsqlookupd checks them. */
function topicAndChannel(command: string, params: readonly string[]): [string, string] {
  if (params.length === 0) throw new V1Error('E_INVALID', `${command} insufficient number of params`);
  const topic = params[0]!;
  const channel = params[1] ?? '';
  if (!isValidTopicName(topic)) throw new V1Error('E_BAD_TOPIC', `${command} topic name '${topic}' is not valid`);
  if (channel !== '' && !isValidChannelName(channel)) {
    throw new V1Error('E_BAD_CHANNEL', `${command} channel name '${channel}' is not valid`);
  }
  return [topic, channel];
}
