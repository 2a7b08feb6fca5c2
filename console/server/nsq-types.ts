/**
 * The parts of nsqd's `/stats?format=json` and nsqlookupd's `/nodes` that the console reads, typed
 * as real nsqd writes them (v1.3.0; see the wire reference). Fields that older or newer nsqd may
 * leave out are optional, and `readStats` fills them so the rest of the console never checks.
 */

export interface NsqClientStats {
  client_id: string;
  hostname: string;
  remote_address: string;
  state: number;
  ready_count: number;
  in_flight_count: number;
  message_count: number;
  finish_count: number;
  requeue_count: number;
  connect_ts: number;
  user_agent: string;
  deflate: boolean;
  snappy: boolean;
  tls: boolean;
  authed?: boolean;
  auth_identity?: string;
}

export interface NsqChannelStats {
  channel_name: string;
  depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  message_count: number;
  requeue_count: number;
  timeout_count: number;
  client_count: number;
  clients: NsqClientStats[] | null;
  paused: boolean;
}

export interface NsqTopicStats {
  topic_name: string;
  channels: NsqChannelStats[];
  depth: number;
  backend_depth: number;
  message_count: number;
  paused: boolean;
}

export interface NsqStats {
  version: string;
  health: string;
  start_time: number;
  topics: NsqTopicStats[];
}

/** A producer (nsqd) in lookupd's `/nodes`; `tombstones[i]` belongs to `topics[i]`. */
export interface LookupdNode {
  remote_address: string;
  hostname: string;
  broadcast_address: string;
  tcp_port: number;
  http_port: number;
  version: string;
  tombstones: boolean[];
  topics: string[];
}

type Loose = Record<string, unknown>;

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const bool = (value: unknown): boolean => value === true;
const list = (value: unknown): Loose[] => (Array.isArray(value) ? value.filter((v): v is Loose => typeof v === 'object' && v !== null) : []);

function readClient(raw: Loose): NsqClientStats {
  return {
    client_id: str(raw.client_id),
    hostname: str(raw.hostname),
    remote_address: str(raw.remote_address),
    state: num(raw.state),
    ready_count: num(raw.ready_count),
    in_flight_count: num(raw.in_flight_count),
    message_count: num(raw.message_count),
    finish_count: num(raw.finish_count),
    requeue_count: num(raw.requeue_count),
    connect_ts: num(raw.connect_ts),
    user_agent: str(raw.user_agent),
    deflate: bool(raw.deflate),
    snappy: bool(raw.snappy),
    tls: bool(raw.tls),
    ...(raw.authed === undefined ? {} : { authed: bool(raw.authed), auth_identity: str(raw.auth_identity) }),
  };
}

function readChannel(raw: Loose): NsqChannelStats {
  return {
    channel_name: str(raw.channel_name),
    depth: num(raw.depth),
    backend_depth: num(raw.backend_depth),
    in_flight_count: num(raw.in_flight_count),
    deferred_count: num(raw.deferred_count),
    message_count: num(raw.message_count),
    requeue_count: num(raw.requeue_count),
    timeout_count: num(raw.timeout_count),
    client_count: num(raw.client_count),
    clients: raw.clients === null || raw.clients === undefined ? null : list(raw.clients).map(readClient),
    paused: bool(raw.paused),
  };
}

/** nsqd's `/stats` JSON, checked field by field: a malformed field reads as zero, not as a crash. */
export function readStats(body: unknown): NsqStats {
  if (typeof body !== 'object' || body === null) throw new TypeError('/stats did not answer a JSON object');
  const raw = body as Loose;
  return {
    version: str(raw.version),
    health: str(raw.health),
    start_time: num(raw.start_time),
    topics: list(raw.topics).map((topic) => ({
      topic_name: str(topic.topic_name),
      channels: list(topic.channels).map(readChannel),
      depth: num(topic.depth),
      backend_depth: num(topic.backend_depth),
      message_count: num(topic.message_count),
      paused: bool(topic.paused),
    })),
  };
}

/** lookupd's `/nodes` JSON. */
export function readNodes(body: unknown): LookupdNode[] {
  if (typeof body !== 'object' || body === null) throw new TypeError('/nodes did not answer a JSON object');
  return list((body as Loose).producers).map((node) => {
    const topics = Array.isArray(node.topics) ? node.topics.map(str) : [];
    const tombstones = Array.isArray(node.tombstones) ? node.tombstones.map(bool) : [];
    return {
      remote_address: str(node.remote_address),
      hostname: str(node.hostname),
      broadcast_address: str(node.broadcast_address),
      tcp_port: num(node.tcp_port),
      http_port: num(node.http_port),
      version: str(node.version),
      topics,
      tombstones: topics.map((_, i) => tombstones[i] ?? false),
    };
  });
}
