/**
 * The console's JSON API under `<base>/api/`: the overview, one topic, one channel, chart series,
 * and actions. Reads answer from the model the poller fills; only actions reach the cluster.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ActionResult, SeriesAnswer } from '../api-types.ts';
import { crossOriginReason, viewerOf } from './access.ts';
import { ActionError, parseActionRequest, planAction, runAction } from './actions.ts';
import type { ClusterModel } from './cluster.ts';
import type { DeadLetterReaders } from './dead-letters.ts';
import type { WorkerHealthReader } from './worker-health.ts';
import { withHealth, workersOf } from './workers.ts';
import type { UpstreamClient } from './http-client.ts';
import { notifyAction } from './notify.ts';
import type { ConsoleOptions } from './options.ts';

export interface ApiContext {
  options: ConsoleOptions;
  model: ClusterModel;
  upstream: UpstreamClient;
  deadLetters: DeadLetterReaders;
  workerHealth: WorkerHealthReader;
  logger: Logger;
}

const WINDOWS_MS: Readonly<Record<string, number>> = { '5m': 5 * 60_000, '30m': 30 * 60_000, '60m': 60 * 60_000 };
const MAX_ACTION_BODY = 4096;
const MAX_SERIES_KEYS = 24;

export function sendJsonBody(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown) => sendJsonBody(res, status, JSON.stringify(value));

/** The overview JSON of the current tick, serialised once however many pages ask. */
let cached: { model: ClusterModel; tick: number; body: string } | undefined;

function overview(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): void {
  const viewer = viewerOf(req, ctx.options);
  const etag = `"${ctx.model.tick}-${viewer.canAct ? 1 : 0}-${encodeURIComponent(viewer.user ?? '')}"`;
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { ETag: etag, 'Cache-Control': 'no-cache' });
    res.end();
    return;
  }
  if (cached?.model !== ctx.model || cached.tick !== ctx.model.tick) {
    cached = { model: ctx.model, tick: ctx.model.tick, body: JSON.stringify(ctx.model.overview({ readOnly: ctx.options.readOnly, canAct: false, user: null })) };
  }
  // The shared body carries placeholders for the per-viewer fields; names cannot hold quotes, so
  // the first match is the header's.
  const body = cached.body.replace('"canAct":false,"user":null', `"canAct":${viewer.canAct},"user":${JSON.stringify(viewer.user)}`);
  sendJsonBody(res, 200, body, { ETag: etag, 'Cache-Control': 'no-cache' });
}

function series(ctx: ApiContext, url: URL, res: ServerResponse): void {
  const windowMs = WINDOWS_MS[url.searchParams.get('window') ?? '5m'];
  const keys = url.searchParams.getAll('key').slice(0, MAX_SERIES_KEYS);
  if (windowMs === undefined) return sendJson(res, 400, { message: 'window is one of 5m, 30m, 60m' });
  const answer: SeriesAnswer = ctx.model.series.window(keys, windowMs, Date.now());
  sendJson(res, 200, answer);
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ACTION_BODY) throw new ActionError('the body is too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ActionError('the body is not JSON');
  }
}

async function action(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const refused = crossOriginReason(req);
  if (refused !== undefined) return sendJson(res, 403, { message: refused });
  const viewer = viewerOf(req, ctx.options);
  if (ctx.options.readOnly) return sendJson(res, 403, { message: 'the console is read-only' });
  if (!viewer.canAct) return sendJson(res, 403, { message: `${viewer.user ?? 'this user'} is not an admin user` });
  let request;
  try {
    request = parseActionRequest(await readJsonBody(req));
  } catch (error) {
    if (error instanceof ActionError) return sendJson(res, 400, { message: error.message });
    throw error;
  }
  const { model } = ctx;
  let result: ActionResult;
  if (request.action === 'replay' || request.action === 'discard') result = await ctx.deadLetters.act(request.topic, request.id!, request.action);
  else {
    const urls = planAction(request, {
      lookupds: ctx.options.lookupdHttpAddresses,
      allNodes: [...model.nodes.keys()],
      topicNodes: (topic) => model.nodesWithTopic(topic),
    });
    result = await runAction(urls, ctx.upstream);
  }
  const remoteIp = req.socket.remoteAddress ?? '';
  ctx.logger.info({ user: viewer.user, remoteIp, ...request, ok: result.ok, errors: result.errors }, `console action: ${request.action} ${request.topic}${request.channel === undefined ? '' : `/${request.channel}`} by ${viewer.user ?? 'anonymous'}`);
  notifyAction(ctx.options.notificationHttpEndpoint, { request, user: viewer.user, remoteIp, userAgent: req.headers['user-agent'] ?? '', url: req.url ?? '' }, ctx.logger);
  sendJson(res, result.ok ? 200 : 502, result);
}

/** Answers `path` (relative to `<base>/api/`); false when no route matches. */
export async function handleApi(ctx: ApiContext, path: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const method = req.method ?? 'GET';
  if (path === 'action') {
    if (method !== 'POST') return sendJson(res, 405, { message: 'POST only' }), true;
    await action(ctx, req, res);
    return true;
  }
  if (method !== 'GET' && method !== 'HEAD') return sendJson(res, 405, { message: 'GET only' }), true;
  const topic = url.searchParams.get('topic') ?? '';
  switch (path) {
    case 'overview':
      overview(ctx, req, res);
      return true;
    case 'topic': {
      const detail = ctx.model.topic(topic);
      sendJson(res, detail === undefined ? 404 : 200, detail ?? { message: 'TOPIC_NOT_FOUND' });
      return true;
    }
    case 'channel': {
      const detail = ctx.model.channel(topic, url.searchParams.get('channel') ?? '');
      sendJson(res, detail === undefined ? 404 : 200, detail ?? { message: 'CHANNEL_NOT_FOUND' });
      return true;
    }
    case 'series':
      series(ctx, url, res);
      return true;
    case 'workers':
      sendJson(res, 200, await withHealth(workersOf(ctx.model), ctx.workerHealth));
      return true;
    case 'dead-letters':
      sendJson(res, 200, await ctx.deadLetters.view(topic, viewerOf(req, ctx.options).canAct));
      return true;
    default:
      return false;
  }
}
