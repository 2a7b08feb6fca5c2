/**
 * The routing nsqd and nsqlookupd get from httprouter v1.3.0 (`httprouter.New()` with
 * HandleMethodNotAllowed): exact paths per method, and a last segment `:name` that matches one
 * non-empty segment; a trailing slash or a path that differs only by case or by `.`/`..`/`//`
 * redirects (301 for GET, 307 otherwise); OPTIONS on a known path answers 200 with `Allow`; a known
 * path with another method is 405 `METHOD_NOT_ALLOWED` with `Allow`; anything else is 404 `NOT_FOUND`.
 * HEAD is a method of its own, as in httprouter: a GET route does not answer it.
 */
import type { ServerResponse } from 'node:http';
import { HttpError, sendError, sendText } from './http-v1.ts';

export interface RouteKey {
  method: string;
  /** `/stats`, or `/config/:opt` with one parameter as the last segment. */
  path: string;
}

export type RouteDecision<R extends RouteKey> =
  /** `param`: the `:name` segment's value, when the route has one. */
  | { kind: 'match'; route: R; param: string | undefined; rawQuery: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'options'; allow: string }
  | { kind: 'not-allowed'; allow: string }
  | { kind: 'not-found' }
  /** A request target Go's server refuses before routing (a bad `%` escape in the path). */
  | { kind: 'bad-request' };

/** Where `method` and the request target `url` go among `routes`. */
export function decideRoute<R extends RouteKey>(routes: readonly R[], method: string, url: string): RouteDecision<R> {
  // `OPTIONS *` asks about the server: every method it serves.
  if (url === '*' && method === 'OPTIONS') return { kind: 'options', allow: [...new Set([...routes.map((r) => r.method), 'OPTIONS'])].sort().join(', ') };
  const target = splitTarget(url);
  if (target === undefined) return { kind: 'bad-request' };
  const { path, rawQuery } = target;
  for (const route of routes) {
    if (route.method !== method) continue;
    const param = matchPath(route.path, path);
    if (param !== false) return { kind: 'match', route, param, rawQuery: rawQuery ?? '' };
  }
  const methodRoutes = routes.filter((r) => r.method === method);
  if (methodRoutes.length > 0 && path !== '/') {
    const fixed = fixPath(methodRoutes, path);
    if (fixed !== undefined) return { kind: 'redirect', location: rawQuery === undefined ? escapePath(fixed) : `${escapePath(fixed)}?${rawQuery}` };
  }
  const others = routes.filter((r) => r.method !== method && matchPath(r.path, path) !== false).map((r) => r.method);
  if (others.length === 0) return { kind: 'not-found' };
  const allow = [...new Set([...others, 'OPTIONS'])].sort().join(', ');
  return method === 'OPTIONS' ? { kind: 'options', allow } : { kind: 'not-allowed', allow };
}

/** Answers every decision but a match, as httprouter and Go's server do. */
export function answerUnrouted(res: ServerResponse, method: string, decision: Exclude<RouteDecision<RouteKey>, { kind: 'match' }>): void {
  switch (decision.kind) {
    case 'bad-request':
      sendText(res, '400 Bad Request', 400, false);
      return;
    case 'redirect':
      redirect(res, method, decision.location);
      return;
    case 'options':
      res.writeHead(200, { Allow: decision.allow, 'Content-Length': 0 });
      res.end();
      return;
    case 'not-allowed':
      res.setHeader('Allow', decision.allow);
      sendError(res, new HttpError(405, 'METHOD_NOT_ALLOWED'));
      return;
    case 'not-found':
      sendError(res, new HttpError(404, 'NOT_FOUND'));
      return;
  }
}

/** false when `pattern` does not match `path`; else the `:name` segment's value (undefined without one). */
function matchPath(pattern: string, path: string): string | undefined | false {
  const colon = pattern.lastIndexOf('/:');
  if (colon < 0) return pattern === path ? undefined : false;
  const prefix = pattern.slice(0, colon + 1);
  if (!path.startsWith(prefix)) return false;
  const value = path.slice(prefix.length);
  return value === '' || value.includes('/') ? false : value;
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
function fixPath(routes: readonly RouteKey[], path: string): string | undefined {
  let cleaned = cleanPath(path);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if (routes.some((r) => matchPath(r.path, cleaned) !== false)) return cleaned;
  const lower = cleaned.toLowerCase();
  for (const route of routes) {
    const colon = route.path.lastIndexOf('/:');
    if (colon < 0) {
      if (route.path.toLowerCase() === lower) return route.path;
      continue;
    }
    // httprouter keeps a parameter's own letters: /Config/Msg_Timeout → /config/Msg_Timeout.
    const prefix = route.path.slice(0, colon + 1);
    if (lower.startsWith(prefix.toLowerCase()) && matchPath(route.path, prefix + cleaned.slice(prefix.length)) !== false) return prefix + cleaned.slice(prefix.length);
  }
  return undefined;
}

/**
 * A decoded path escaped again for a `Location` header, as Go's URL.EscapedPath writes it: letters,
 * digits and `-_.~$&+,/:;=@` kept, every other byte of its UTF-8 as `%XX` (a `?` in a parameter stays
 * part of the path, a newline cannot break the header).
 */
function escapePath(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
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

const STATUS_TEXT: Readonly<Record<number, string>> = { 301: 'Moved Permanently', 307: 'Temporary Redirect' };

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
