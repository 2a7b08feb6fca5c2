/**
 * The console's JSON API, shared by its server and its page (types only: the page bundle carries no
 * server code). Counts are totals over the nodes that have the topic; rates are per second.
 */

export interface NodeView {
  /** The nsqd HTTP address, `host:port`: the node's id in the API. */
  address: string;
  hostname: string;
  version: string;
  /** False when its last poll failed; its figures are then the last good ones. */
  up: boolean;
  error: string | null;
  /** Unix ms of the last good poll, null if it never answered. */
  lastGoodAt: number | null;
  health: string;
  startTime: number;
  topicCount: number;
  channelCount: number;
  clientCount: number;
  /** Messages waiting on this node, in topics and channels. */
  depth: number;
  messageRate: number | null;
  /** Topics a lookupd has tombstoned on this node. */
  tombstones: string[];
  /** Where the console learned of it: given on the command line, or from a lookupd. */
  source: 'nsqd-http-address' | 'lookupd';
}

export interface CountsView {
  depth: number;
  backendDepth: number;
  messageCount: number;
  messageRate: number | null;
  paused: boolean;
}

export interface ChannelCounts extends CountsView {
  inFlight: number;
  deferred: number;
  requeueCount: number;
  timeoutCount: number;
  requeueRate: number | null;
  timeoutRate: number | null;
  clientCount: number;
}

export interface TopicRow extends CountsView {
  name: string;
  channelCount: number;
  /** Messages waiting in its channels, summed: where a topic's backlog usually is. */
  channelDepth: number;
  nodeCount: number;
  /** Some of its figures come from a node that is down. */
  stale: boolean;
}

export interface ChannelRow extends ChannelCounts {
  name: string;
  stale: boolean;
}

export interface PerNode<T> {
  node: string;
  up: boolean;
  counts: T;
}

export interface ClientView {
  node: string;
  clientId: string;
  hostname: string;
  remoteAddress: string;
  userAgent: string;
  state: number;
  ready: number;
  inFlight: number;
  messageCount: number;
  finishCount: number;
  requeueCount: number;
  connectedAt: number;
  tls: boolean;
  snappy: boolean;
  deflate: boolean;
  authed: boolean;
}

export interface Overview {
  /** Increases at every poll; the page asks again only when it changed. */
  tick: number;
  polledAt: number;
  intervalMs: number;
  readOnly: boolean;
  /** Whether actions are open to this viewer (read-only, or not an admin user, closes them). */
  canAct: boolean;
  user: string | null;
  lookupds: Array<{ address: string; up: boolean; error: string | null }>;
  nodes: NodeView[];
  topics: TopicRow[];
  /** `depth` counts every message waiting, in topics and in channels. */
  totals: { depth: number; messageRate: number | null; inFlight: number };
}

export interface TopicDetail {
  tick: number;
  name: string;
  counts: CountsView;
  nodes: Array<PerNode<CountsView>>;
  channels: ChannelRow[];
}

export interface ChannelDetail {
  tick: number;
  topic: string;
  name: string;
  counts: ChannelCounts;
  nodes: Array<PerNode<ChannelCounts>>;
  clients: ClientView[];
}

export interface SeriesAnswer {
  times: number[];
  values: Record<string, Array<number | null>>;
}

export type ActionName = 'create' | 'pause' | 'unpause' | 'empty' | 'delete' | 'tombstone' | 'replay' | 'discard';

export interface ActionRequest {
  action: ActionName;
  topic: string;
  channel?: string;
  /** For tombstone: the nsqd HTTP address of the node. */
  node?: string;
  /** For replay and discard: the dead letter's message id in the dead-letter topic. */
  id?: string;
}

export interface ActionResult {
  ok: boolean;
  /** One line per nsqd or lookupd that refused or did not answer. */
  errors: string[];
}

/** Series keys: the page asks for these, the server records them. */
export const seriesKey = {
  total: (metric: 'rate' | 'depth') => `*:${metric}`,
  topic: (topic: string, metric: 'rate' | 'depth' | 'channel-depth') => `t:${topic}:${metric}`,
  channel: (topic: string, channel: string, metric: 'rate' | 'depth' | 'inflight') => `c:${topic}/${channel}:${metric}`,
} as const;

/** One running consumer of a worker's task, as nsqd reports it. */
export interface WorkerInstance {
  node: string;
  clientId: string;
  hostname: string;
  remoteAddress: string;
  version: string;
  /** Its `--health-address` as the console reaches it, from its user agent. */
  health: string | null;
  /** From its /metrics: null when it serves none or did not answer. */
  state: 'ready' | 'starting' | 'draining' | null;
  ready: number;
  inFlight: number;
  finishCount: number;
  requeueCount: number;
  connectedAt: number;
}

/**
 * The worker process a connection belongs to: the runner's client_id is `host:pid`, the same on every
 * nsqd it reads from; with the address nsqd saw it connect from, for two machines of one name.
 */
export function processOf(instance: WorkerInstance): string {
  return `${instance.clientId}@${instance.remoteAddress.slice(0, instance.remoteAddress.lastIndexOf(':'))}`;
}

export interface WorkerTask {
  task: string;
  /** The channel its consumers subscribe. */
  channel: string;
  counts: ChannelCounts | null;
  /** Its consumers' connections: one per nsqd each worker process reads the channel from. */
  instances: WorkerInstance[];
  /** The worker processes running it: its instances told apart by their client_id (host:pid). */
  processes: number;
  /** Summed over the instances that serve /metrics; null when none does. */
  handledRate: number | null;
  failedRate: number | null;
  deadLetteredRate: number | null;
}

/** A worker found from the user agents its consumers send (see README, "How workers show up"). */
export interface WorkerView {
  topic: string;
  channel: string;
  tasks: WorkerTask[];
  hosts: string[];
  deadLetterTopic: string | null;
  /** Dead letters waiting (the console's reading channel if it has one, else the topic's depth). */
  deadLetters: number | null;
}

export interface DeadLetterView {
  /** The held message's id in the dead-letter topic: what replay and discard name. */
  id: string;
  task: string;
  /** Rejected by the worker (its body schema or `validate`) before any task ran: replayed to every task. */
  rejected: boolean;
  topic: string;
  channel: string;
  messageId: string;
  attempts: number;
  error: string;
  deadLetteredAt: string;
  bodyPreview: string;
  bodyBytes: number;
}

export interface DeadLettersAnswer {
  topic: string;
  /** The channel the console reads through, or null under --read-only (then only the depth is known). */
  channel: string | null;
  waiting: number | null;
  held: DeadLetterView[];
  error: string | null;
}
