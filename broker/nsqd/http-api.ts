/**
 * nsqd's HTTP API: the same paths, methods, parameters, status codes and JSON shapes, so nsqadmin,
 * nsq_stat and curl scripts written for nsqd work unchanged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { parseMpubRanges, MpubFormatError } from '../../protocol/commands.ts';
import { isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { HttpError, parseBoolParam, parseQuery, readBody, sendError, sendJson, sendText } from '../http-v1.ts';
import { answerUnrouted, decideRoute, type RouteKey } from '../http-routing.ts';
import type { ClientConnection } from './client-connection.ts';
import type { Nsqd } from './nsqd.ts';
import { TopicExitingError } from './topic.ts';
import { NSQD_VERSION } from './options.ts';
import { groupCommit } from './group-commit.ts';
import { buildStats } from './stats.ts';
import { formatStatsText } from './stats-text.ts';
import { configValue } from './http-config.ts';
import type { BrokerMetrics } from './prometheus.ts';

export interface HttpContext {
  nsqd: Nsqd;
  /** Created on the first `/metrics` request, so prom-client loads only when someone scrapes. */
  metrics?: Promise<BrokerMetrics>;
  clients: () => Iterable<ClientConnection>;
  /** The ports actually bound, for /info. */
  ports: () => { tcpPort: number; httpPort: number };
}

/** The query string as a handler reads it: the first value of a parameter, or null. */
interface QueryParams {
  get(name: string): string | null;
}

/** `param`: the `:opt` of `/config/:opt`. */
type Handler = (ctx: HttpContext, req: IncomingMessage, res: ServerResponse, query: QueryParams, param: string | undefined) => Promise<void> | void;

/**
 * nsqd parses the query with Go's url.ParseQuery when a handler first needs a parameter, and answers
 * 400 INVALID_REQUEST when that fails (a `;`, a bad `%` escape). Parsing lazily keeps nsqd's order of
 * checks: /pub reports MSG_EMPTY or MSG_TOO_BIG before a bad query string; /ping never looks at it.
 */
class GoQueryParams implements QueryParams {
  private parsed: Map<string, string[]> | undefined | null = null;

  constructor(private readonly raw: string) {}

  get(name: string): string | null {
    if (this.parsed === null) this.parsed = parseQuery(this.raw);
    if (this.parsed === undefined) throw new HttpError(400, 'INVALID_REQUEST');
    return this.parsed.get(name)?.[0] ?? null;
  }
}

interface Route extends RouteKey {
  handler: Handler;
}

const GET = 'GET';
const POST = 'POST';

function topicParam(query: QueryParams, invalidText = 'INVALID_TOPIC'): string {
  const topic = query.get('topic');
  if (topic === null) throw new HttpError(400, 'MISSING_ARG_TOPIC');
  if (!isValidTopicName(topic)) throw new HttpError(400, invalidText);
  return topic;
}

function topicAndChannel(query: QueryParams): { topic: string; channel: string } {
  const topic = topicParam(query, 'INVALID_ARG_TOPIC');
  const channel = query.get('channel');
  if (channel === null) throw new HttpError(400, 'MISSING_ARG_CHANNEL');
  if (!isValidChannelName(channel)) throw new HttpError(400, 'INVALID_ARG_CHANNEL');
  return { topic, channel };
}

function existingTopic(ctx: HttpContext, name: string) {
  const topic = ctx.nsqd.getTopic(name);
  if (topic === undefined) throw new HttpError(404, 'TOPIC_NOT_FOUND');
  return topic;
}

function existingChannel(ctx: HttpContext, query: QueryParams) {
  const { topic: topicName, channel: channelName } = topicAndChannel(query);
  const topic = existingTopic(ctx, topicName);
  const channel = topic.getChannel(channelName);
  if (channel === undefined) throw new HttpError(404, 'CHANNEL_NOT_FOUND');
  return { topic, channel };
}

function contentLength(req: IncomingMessage): number {
  const header = req.headers['content-length'];
  return header === undefined ? -1 : Number(header);
}

async function publishOne(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, query: QueryParams): Promise<void> {
  const { maxMsgSize, maxReqTimeoutMs } = ctx.nsqd.options;
  if (contentLength(req) > maxMsgSize) throw new HttpError(413, 'MSG_TOO_BIG');
  const { body, tooBig } = await readBody(req, maxMsgSize);
  if (tooBig) throw new HttpError(413, 'MSG_TOO_BIG');
  if (body.length === 0) throw new HttpError(400, 'MSG_EMPTY');
  const topicName = topicParam(query);
  if (ctx.nsqd.exiting) throw new HttpError(503, 'EXITING');
  // nsqd creates the topic when it reads the topic parameter, before it checks `defer`.
  const topic = ctx.nsqd.getOrCreateTopic(topicName);
  let deferMs = 0;
  const deferParam = query.get('defer');
  if (deferParam !== null) {
    // strconv.ParseInt: an optional sign, then digits ("+5" and "-0" are numbers).
    deferMs = /^[+-]?\d+$/.test(deferParam) ? Number(deferParam) : -1;
    if (deferMs < 0 || deferMs > maxReqTimeoutMs) throw new HttpError(400, 'INVALID_DEFER');
  }
  putOrFail(ctx, () => topic.publish(body, deferMs));
  sendText(res, 'OK');
}

/**
 * nsqd answers any failed put with 503 EXITING: a disk write error (the broker's health says why,
 * logged here at error level), or a topic deleted while the request was read (an ordinary race).
 */
function putOrFail(ctx: HttpContext, put: () => void): void {
  try {
    put();
  } catch (error) {
    if (!(error instanceof TopicExitingError)) ctx.nsqd.logger.error({ err: error }, 'HTTP publish failed');
    throw new HttpError(503, 'EXITING');
  }
  // Sync mode: OK only once the write is fsynced (with everything else pending this turn).
  if (!groupCommit.commitIfPending()) throw new HttpError(503, 'EXITING');
}

async function publishMany(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, query: QueryParams): Promise<void> {
  const { maxMsgSize, maxBodySize } = ctx.nsqd.options;
  if (contentLength(req) > maxBodySize) throw new HttpError(413, 'BODY_TOO_BIG');
  const topicName = topicParam(query);
  if (ctx.nsqd.exiting) throw new HttpError(503, 'EXITING');
  // nsqd creates the topic before it reads the body: it exists even if the batch is then refused.
  const topic = ctx.nsqd.getOrCreateTopic(topicName);
  const binaryParam = query.get('binary');
  const binary = binaryParam !== null && binaryParam !== 'false' && binaryParam !== '0';
  const { body, tooBig } = await readBody(req, maxBodySize);
  if (tooBig) throw new HttpError(413, 'BODY_TOO_BIG');
  let ranges: number[];
  if (binary) {
    try {
      ranges = parseMpubRanges(body, { maxMsgSize, maxBodySize });
    } catch (error) {
      if (error instanceof MpubFormatError) throw new HttpError(413, error.code.slice(2));
      throw error;
    }
  } else {
    ranges = [];
    let start = 0;
    while (start < body.length) {
      let end = body.indexOf(0x0a, start);
      if (end < 0) end = body.length;
      if (end > start) {
        if (end - start > maxMsgSize) throw new HttpError(413, 'MSG_TOO_BIG');
        ranges.push(start, end);
      }
      start = end + 1;
    }
  }
  if (ctx.nsqd.exiting) throw new HttpError(503, 'EXITING');
  putOrFail(ctx, () => {
    topic.publishAll(body, ranges);
  });
  sendText(res, 'OK');
}

function stats(ctx: HttpContext, _req: IncomingMessage, res: ServerResponse, query: QueryParams): void {
  const result = buildStats(ctx.nsqd, ctx.clients(), {
    // An empty value is no filter, as in nsqd (it reads a missing parameter as "").
    topic: query.get('topic') || undefined,
    channel: query.get('channel') || undefined,
    includeClients: parseBoolParam(query.get('include_clients'), true),
    includeMem: parseBoolParam(query.get('include_mem'), true),
  });
  if (query.get('format') === 'json') sendJson(res, result);
  else sendText(res, formatStatsText(result, Date.now() - ctx.nsqd.startedAtMs));
}

function info(ctx: HttpContext, _req: IncomingMessage, res: ServerResponse): void {
  const { options, startTime } = ctx.nsqd;
  const { tcpPort, httpPort } = ctx.ports();
  sendJson(res, {
    version: NSQD_VERSION,
    broadcast_address: options.broadcastAddress,
    hostname: hostname(),
    http_port: httpPort,
    tcp_port: tcpPort,
    start_time: startTime,
    max_heartbeat_interval: options.maxHeartbeatIntervalMs * 1e6,
    max_output_buffer_size: options.maxOutputBufferSize,
    max_output_buffer_timeout: options.maxOutputBufferTimeoutMs * 1e6,
    max_deflate_level: options.maxDeflateLevel,
  });
}

const ok = (res: ServerResponse): void => sendText(res, '');

async function metrics(ctx: HttpContext, _req: IncomingMessage, res: ServerResponse): Promise<void> {
  ctx.metrics ??= import('./prometheus.ts').then(({ createBrokerMetrics }) => createBrokerMetrics(ctx.nsqd, ctx.clients));
  const registry = await ctx.metrics;
  const body = await registry.render();
  res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const routes: readonly Route[] = [
  { method: GET, path: '/ping', handler: (ctx, _req, res) => {
    const healthy = ctx.nsqd.health === 'OK';
    sendText(res, ctx.nsqd.health, healthy ? 200 : 500, false);
  } },
  { method: GET, path: '/info', handler: info },
  { method: POST, path: '/pub', handler: publishOne },
  { method: POST, path: '/mpub', handler: publishMany },
  { method: GET, path: '/stats', handler: stats },
  { method: GET, path: '/metrics', handler: metrics },
  { method: POST, path: '/topic/create', handler: (ctx, _req, res, query) => {
    ctx.nsqd.getOrCreateTopic(topicParam(query));
    ok(res);
  } },
  { method: POST, path: '/topic/delete', handler: (ctx, _req, res, query) => {
    const name = query.get('topic');
    if (name === null) throw new HttpError(400, 'MISSING_ARG_TOPIC');
    if (!ctx.nsqd.deleteTopic(name)) throw new HttpError(404, 'TOPIC_NOT_FOUND');
    ok(res);
  } },
  { method: POST, path: '/topic/empty', handler: (ctx, _req, res, query) => {
    existingTopic(ctx, topicParam(query)).backlog.empty();
    ok(res);
  } },
  { method: POST, path: '/topic/pause', handler: (ctx, _req, res, query) => setTopicPaused(ctx, res, query, true) },
  { method: POST, path: '/topic/unpause', handler: (ctx, _req, res, query) => setTopicPaused(ctx, res, query, false) },
  { method: POST, path: '/channel/create', handler: (ctx, _req, res, query) => {
    const { topic, channel } = topicAndChannel(query);
    existingTopic(ctx, topic).getOrCreateChannel(channel);
    ok(res);
  } },
  { method: POST, path: '/channel/delete', handler: (ctx, _req, res, query) => {
    const { topic, channel } = existingChannel(ctx, query);
    topic.deleteChannel(channel.name);
    ok(res);
  } },
  { method: POST, path: '/channel/empty', handler: (ctx, _req, res, query) => {
    existingChannel(ctx, query).channel.empty();
    ok(res);
  } },
  { method: POST, path: '/channel/pause', handler: (ctx, _req, res, query) => setChannelPaused(ctx, res, query, true) },
  { method: POST, path: '/channel/unpause', handler: (ctx, _req, res, query) => setChannelPaused(ctx, res, query, false) },
  { method: GET, path: '/config/:opt', handler: (ctx, req, res, _query, opt) => configValue(ctx.nsqd, req, res, opt!) },
  { method: 'PUT', path: '/config/:opt', handler: (ctx, req, res, _query, opt) => configValue(ctx.nsqd, req, res, opt!) },
];

function setTopicPaused(ctx: HttpContext, res: ServerResponse, query: QueryParams, paused: boolean): void {
  const name = query.get('topic');
  if (name === null) throw new HttpError(400, 'MISSING_ARG_TOPIC');
  const topic = existingTopic(ctx, name);
  if (paused) topic.pause();
  else topic.unpause();
  ctx.nsqd.saveMetadata();
  ok(res);
}

function setChannelPaused(ctx: HttpContext, res: ServerResponse, query: QueryParams, paused: boolean): void {
  const { channel } = existingChannel(ctx, query);
  if (paused) channel.pause();
  else channel.unpause();
  ctx.nsqd.saveMetadata();
  ok(res);
}

async function route(ctx: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const decision = decideRoute(routes, method, req.url ?? '/');
  if (decision.kind !== 'match') return answerUnrouted(res, method, decision);
  await decision.route.handler(ctx, req, res, new GoQueryParams(decision.rawQuery), decision.param);
}

/** The API's request handler, shared by the HTTP and HTTPS listeners. */
export function httpHandler(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(ctx, req, res).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof HttpError) return sendError(res, error);
      ctx.nsqd.logger.error({ err: error, url: req.url }, 'HTTP handler failed');
      sendError(res, new HttpError(500, 'INTERNAL_ERROR'));
    });
  };
}

export function createHttpServer(ctx: HttpContext, handler = httpHandler(ctx)): Server {
  return createServer(handler);
}
