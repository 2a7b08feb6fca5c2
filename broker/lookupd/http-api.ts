/**
 * nsqlookupd's HTTP API: discovery (`/lookup`, `/topics`, `/channels`, `/nodes`), registration edits
 * (`/topic/create`, `/topic/delete`, `/channel/create`, `/channel/delete`, `/topic/tombstone`), and
 * `/ping`, `/info`, `/debug`, with nsqlookupd's JSON shapes, field order and status codes.
 */
import { HttpError, parseQuery } from '../http-v1.ts';
import { isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { debugJson } from './debug-json.ts';
import type { HttpReply, Route } from './http-router.ts';
import { LOOKUPD_VERSION } from './options.ts';
import { filterActive, isTombstoned, tombstone, WILDCARD, type PeerInfo, type Producer, type RegistrationDb } from './registry.ts';

export interface LookupdHttpContext {
  readonly db: RegistrationDb;
  readonly inactiveProducerTimeoutMs: number;
  readonly tombstoneLifetimeMs: number;
  now(): number;
}

const EMPTY: HttpReply = { kind: 'empty' };

/** Query parameters as nsqlookupd reads them: a present but empty value is `""`, not missing. */
class Params {
  private constructor(private readonly values: Map<string, string[]>) {}

  static parse(rawQuery: string): Params {
    const values = parseQuery(rawQuery);
    if (values === undefined) throw new HttpError(400, 'INVALID_REQUEST');
    return new Params(values);
  }

  /** The first value, or a 400 with `missing` when the key is absent. */
  require(key: string, missing: string): string {
    const value = this.values.get(key)?.[0];
    if (value === undefined) throw new HttpError(400, missing);
    return value;
  }

  /** `topic` and `channel`, both present and valid (nsqd's `GetTopicChannelArgs`). */
  topicAndChannel(): [string, string] {
    const topic = this.require('topic', 'MISSING_ARG_TOPIC');
    if (!isValidTopicName(topic)) throw new HttpError(400, 'INVALID_ARG_TOPIC');
    const channel = this.require('channel', 'MISSING_ARG_CHANNEL');
    if (!isValidChannelName(channel)) throw new HttpError(400, 'INVALID_ARG_CHANNEL');
    return [topic, channel];
  }
}

/** PeerInfo as `/lookup` lists it, fields in nsqlookupd's order. */
function peerJson(peer: PeerInfo): Record<string, string | number> {
  return {
    remote_address: peer.remoteAddress,
    hostname: peer.hostname,
    broadcast_address: peer.broadcastAddress,
    tcp_port: peer.tcpPort,
    http_port: peer.httpPort,
    version: peer.version,
  };
}

export function lookupdRoutes(context: LookupdHttpContext): Route[] {
  const { db } = context;
  const v1 = (method: Route['method'], path: string, handle: Route['handle']): Route => ({ method, path, style: 'v1', handle });

  return [
    { method: 'GET', path: '/ping', style: 'plain', handle: () => ({ kind: 'text', text: 'OK' }) },
    v1('GET', '/info', () => ({ kind: 'json', value: { version: LOOKUPD_VERSION } })),
    v1('GET', '/debug', () => ({ kind: 'raw-json', text: debugJson(db) })),

    v1('GET', '/lookup', (query) => {
      const topic = Params.parse(query).require('topic', 'MISSING_ARG_TOPIC');
      if (db.findRegistrations('topic', topic, '').length === 0) throw new HttpError(404, 'TOPIC_NOT_FOUND');
      const channels = db.findRegistrations('channel', topic, WILDCARD).map((r) => r.subKey);
      const producers = filterActive(
        db.findProducers('topic', topic, ''),
        context.now(),
        context.inactiveProducerTimeoutMs,
        context.tombstoneLifetimeMs,
      );
      return { kind: 'json', value: { channels, producers: producers.map((p) => peerJson(p.peer)) } };
    }),

    v1('GET', '/topics', () => ({
      kind: 'json',
      value: { topics: db.findRegistrations('topic', WILDCARD, '').map((r) => r.key) },
    })),

    v1('GET', '/channels', (query) => {
      const topic = Params.parse(query).require('topic', 'MISSING_ARG_TOPIC');
      return { kind: 'json', value: { channels: db.findRegistrations('channel', topic, WILDCARD).map((r) => r.subKey) } };
    }),

    v1('GET', '/nodes', () => ({ kind: 'json', value: { producers: nodes(context) } })),

    v1('POST', '/topic/create', (query) => {
      const topic = Params.parse(query).require('topic', 'MISSING_ARG_TOPIC');
      if (!isValidTopicName(topic)) throw new HttpError(400, 'INVALID_ARG_TOPIC');
      db.addRegistration({ category: 'topic', key: topic, subKey: '' });
      return EMPTY;
    }),

    // The name is not checked and a missing topic is not an error: only registrations are removed.
    v1('POST', '/topic/delete', (query) => {
      const topic = Params.parse(query).require('topic', 'MISSING_ARG_TOPIC');
      for (const r of db.findRegistrations('channel', topic, WILDCARD)) db.removeRegistration(r);
      for (const r of db.findRegistrations('topic', topic, '')) db.removeRegistration(r);
      return EMPTY;
    }),

    v1('POST', '/channel/create', (query) => {
      const [topic, channel] = Params.parse(query).topicAndChannel();
      db.addRegistration({ category: 'channel', key: topic, subKey: channel });
      db.addRegistration({ category: 'topic', key: topic, subKey: '' });
      return EMPTY;
    }),

    v1('POST', '/channel/delete', (query) => {
      const [topic, channel] = Params.parse(query).topicAndChannel();
      const registrations = db.findRegistrations('channel', topic, channel);
      if (registrations.length === 0) throw new HttpError(404, 'CHANNEL_NOT_FOUND');
      for (const r of registrations) db.removeRegistration(r);
      return EMPTY;
    }),

    // Hides `node` (broadcast_address:http_port) from `/lookup` for this topic for the tombstone lifetime.
    v1('POST', '/topic/tombstone', (query) => {
      const params = Params.parse(query);
      const topic = params.require('topic', 'MISSING_ARG_TOPIC');
      const node = params.require('node', 'MISSING_ARG_NODE');
      const now = context.now();
      for (const producer of db.findProducers('topic', topic, '')) {
        if (`${producer.peer.broadcastAddress}:${producer.peer.httpPort}` === node) tombstone(producer, now);
      }
      return EMPTY;
    }),
  ];
}

/**
 * `/nodes`: every active identified peer with its topics, and `tombstones[i]` for `topics[i]`
 * (nsqadmin indexes one by the other, so they always have the same length).
 */
function nodes(context: LookupdHttpContext): Record<string, unknown>[] {
  const { db } = context;
  const now = context.now();
  // Tombstoned peers are listed too: a lifetime of 0 makes no tombstone count.
  const peers = filterActive(db.findProducers('client', '', ''), now, context.inactiveProducerTimeoutMs, 0);
  const topicProducers = new Map<string, Producer[]>();
  return peers.map(({ peer }) => {
    const topics = db
      .lookupRegistrations(peer.id)
      .filter((r) => r.category === 'topic')
      .map((r) => r.key);
    const tombstones = topics.map((topic) => {
      let producers = topicProducers.get(topic);
      if (producers === undefined) {
        producers = db.findProducers('topic', topic, '');
        topicProducers.set(topic, producers);
      }
      const own = producers.find((p) => p.peer === peer);
      return own !== undefined && isTombstoned(own, now, context.tombstoneLifetimeMs);
    });
    return { ...peerJson(peer), tombstones, topics };
  });
}
