/**
 * nsqlookupd's HTTP handlers behind httprouter's routing (broker/http-routing.ts). A handler that
 * throws something other than an {@link HttpError} is answered 500 `INTERNAL_ERROR`, and the server
 * carries on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HttpError, sendEmpty, sendError, sendJson, sendRawJson, sendText } from '../http-v1.ts';
import { answerUnrouted, decideRoute } from '../http-routing.ts';

/** What a handler answers; the router writes it the way Go's V1 or PlainText decorators do. */
export type HttpReply =
  | { kind: 'json'; value: unknown }
  /** JSON text serialised by the handler (int64 values JSON.stringify cannot write). */
  | { kind: 'raw-json'; text: string }
  | { kind: 'empty' }
  | { kind: 'text'; text: string };

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  /** `plain`: no `X-NSQ-Content-Type` header (only `/ping`). */
  style: 'v1' | 'plain';
  /** Gets the raw query string (without `?`). Throws {@link HttpError} to answer an error. */
  handle(rawQuery: string): HttpReply;
}

export function createRouter(routes: readonly Route[], logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // Parameters come from the query string only; a body is read and ignored, as nsqlookupd does.
    req.resume();
    try {
      route(routes, req, res);
    } catch (error) {
      logger.error({ err: error, url: req.url }, 'HTTP handler failed');
      if (!res.headersSent) sendError(res, new HttpError(500, 'INTERNAL_ERROR'));
      else res.destroy();
    }
  };
}

function route(routes: readonly Route[], req: IncomingMessage, res: ServerResponse): void {
  const method = req.method ?? 'GET';
  const decision = decideRoute(routes, method, req.url ?? '/');
  if (decision.kind === 'match') run(decision.route, decision.rawQuery, res);
  else answerUnrouted(res, method, decision);
}

function run(route: Route, rawQuery: string | undefined, res: ServerResponse): void {
  let reply: HttpReply;
  try {
    reply = route.handle(rawQuery ?? '');
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    if (route.style === 'plain') sendText(res, error.text, error.status, false);
    else sendError(res, error);
    return;
  }
  switch (reply.kind) {
    case 'json':
      sendJson(res, reply.value);
      return;
    case 'raw-json':
      sendRawJson(res, reply.text);
      return;
    case 'empty':
      sendEmpty(res);
      return;
    case 'text':
      sendText(res, reply.text, 200, route.style === 'v1');
      return;
  }
}
