/**
 * The routing nsqlookupd gets from httprouter: exact paths per method; a trailing slash or a path
 * that differs only by case or by `.`/`..`/`//` redirects (301 for GET, 307 otherwise); OPTIONS on a
 * known path answers 200 with `Allow`; a known path with another method is 405 `METHOD_NOT_ALLOWED`
 * (with `Allow`); anything else is 404 `NOT_FOUND`. A handler that throws something other than an
 * {@link HttpError} is answered 500 `INTERNAL_ERROR`, and the server carries on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HttpError, sendEmpty, sendError, sendJson, sendRawJson, sendText } from '../http-v1.ts';

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

const STATUS_TEXT: Readonly<Record<number, string>> = { 301: 'Moved Permanently', 307: 'Temporary Redirect' };

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
  const target = splitTarget(req.url ?? '/');
  if (target === undefined) {
    sendText(res, '400 Bad Request', 400, false);
    return;
  }
  const { path, rawQuery } = target;
  const match = routes.find((r) => r.method === method && r.path === path);
  if (match !== undefined) {
    run(match, rawQuery, res);
    return;
  }
  const methodRoutes = routes.filter((r) => r.method === method);
  if (methodRoutes.length > 0 && path !== '/') {
    const fixed = fixPath(methodRoutes, path);
    if (fixed !== undefined) {
      redirect(res, method, rawQuery === undefined ? fixed : `${fixed}?${rawQuery}`);
      return;
    }
  }
  const others = routes.filter((r) => r.path === path && r.method !== method).map((r) => r.method);
  if (others.length > 0) {
    const allow = [...new Set([...others, 'OPTIONS'])].sort().join(', ');
    if (method === 'OPTIONS') {
      res.writeHead(200, { Allow: allow, 'Content-Length': 0 });
      res.end();
    } else {
      res.setHeader('Allow', allow);
      sendError(res, new HttpError(405, 'METHOD_NOT_ALLOWED'));
    }
    return;
  }
  sendError(res, new HttpError(404, 'NOT_FOUND'));
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

/** The decoded path and the raw query of a request target; undefined when Go would answer 400. */
function splitTarget(url: string): { path: string; rawQuery: string | undefined } | undefined {
  let target = url;
  if (!target.startsWith('/')) {
    // Absolute form (`GET http://host/path`), as sent to proxies.
    const absolute = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/.exec(target);
    if (absolute === null) return undefined;
    target = target.slice(absolute[0].length) || '/';
    if (!target.startsWith('/') && !target.startsWith('?')) return undefined;
    if (target.startsWith('?')) target = `/${target}`;
  }
  const question = target.indexOf('?');
  const rawPath = question < 0 ? target : target.slice(0, question);
  const rawQuery = question < 0 ? undefined : target.slice(question + 1);
  const path = unescapePath(rawPath);
  return path === undefined ? undefined : { path, rawQuery };
}

/** Go's `url.PathUnescape`: `%XX` must be two hex digits; the bytes need not be valid UTF-8. */
function unescapePath(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  if (/%(?![0-9a-fA-F]{2})/.test(raw)) return undefined;
  const bytes = Buffer.from(raw, 'utf8');
  const out = Buffer.allocUnsafe(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x25) {
      out[length++] = parseInt(bytes.toString('latin1', i + 1, i + 3), 16);
      i += 2;
    } else {
      out[length++] = bytes[i]!;
    }
  }
  return out.toString('utf8', 0, length);
}

/** The route a slightly wrong path meant: trailing slash, letter case, or `.`/`..`/`//` segments. */
function fixPath(routes: readonly Route[], path: string): string | undefined {
  let cleaned = cleanPath(path);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  const exact = routes.find((r) => r.path === cleaned);
  if (exact !== undefined) return exact.path;
  const lower = cleaned.toLowerCase();
  return routes.find((r) => r.path.toLowerCase() === lower)?.path;
}

/** Go's `path.Clean` for URL paths, keeping a trailing slash (httprouter's `CleanPath`). */
function cleanPath(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const cleaned = `/${out.join('/')}`;
  return path.endsWith('/') && cleaned !== '/' ? `${cleaned}/` : cleaned;
}

function redirect(res: ServerResponse, method: string, location: string): void {
  const status = method === 'GET' ? 301 : 307;
  res.setHeader('Location', location);
  if (method === 'GET' || method === 'HEAD') res.setHeader('Content-Type', 'text/html; charset=utf-8');
  const body = method === 'GET' ? `<a href="${escapeHtml(location)}">${STATUS_TEXT[status]}</a>.\n\n` : '';
  res.writeHead(status, { 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}
